// Aggregate decode throughput of ferry serve with C concurrent streamed answers, against
// one: node tests/serve/parallel_throughput.mjs URL [C=4] [MAX_TOKENS=32]
// (start the server with --parallel >= C and --temp 0; plain fetch, no npm packages).
const [url, C = '4', M = '32'] = process.argv.slice(2);
if (!url) { console.error('usage: parallel_throughput.mjs URL [clients] [max_tokens]'); process.exit(2); }

async function answer(i, maxTokens) {
  const r = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `Story number ${i}.` }], max_tokens: maxTokens,
                           stream: true, stream_options: { include_usage: true } }) });
  const text = await r.text();
  const usage = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)))
    .find((j) => j.usage)?.usage;
  if (!usage) throw new Error(`no usage in the answer: ${text.slice(0, 200)}`);
  return usage.completion_tokens;
}

async function round(clients, maxTokens) {
  await Promise.all(Array.from({ length: clients }, (_, i) => answer(i, 1)));  // prefill the prompts first
  const t0 = performance.now();
  const tokens = (await Promise.all(Array.from({ length: clients }, (_, i) => answer(i, maxTokens)))).reduce((a, b) => a + b, 0);
  const s = (performance.now() - t0) / 1000;
  console.log(`${clients} concurrent: ${tokens} tokens in ${s.toFixed(2)} s = ${(tokens / s).toFixed(2)} t/s aggregate`);
  return tokens / s;
}

const one = await round(1, parseInt(M));
const many = await round(parseInt(C), parseInt(M));
console.log(`aggregate ${C} vs 1: ${(many / one).toFixed(2)}x`);

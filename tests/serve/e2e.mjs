// ferry serve driven by the official openai npm client (and raw fetch for bad input).
// Environment: FERRY_URL, FERRY_KEY, FERRY_PID (for RSS), NODE_PATH (where openai is).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const require = createRequire(process.env.NODE_PATH + '/');
const OpenAI = require('openai');
const url = process.env.FERRY_URL, key = process.env.FERRY_KEY, pid = process.env.FERRY_PID;
const client = new OpenAI({ baseURL: url + '/v1', apiKey: key, maxRetries: 0, timeout: 300000 });
const auth = { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' };
let failures = 0;
function check(ok, what) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures++;
}
const rssKiB = () => parseInt(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
async function metric(name) {
  const t = await (await fetch(url + '/metrics', { headers: auth })).text();
  const m = t.match(new RegExp('^' + name + ' (\\S+)$', 'm'));
  return m ? parseFloat(m[1]) : NaN;
}
const user = (content) => [{ role: 'user', content }];

// --- models, non-streaming, streaming
const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === 'demo', `models.list: ${models.data.map((m) => m.id)}`);

const plain = await client.chat.completions.create({ model: 'demo', messages: user('Hello!'), max_tokens: 4, temperature: 0 });
const text = plain.choices[0].message.content;
check(typeof text === 'string' && ['stop', 'length'].includes(plain.choices[0].finish_reason),
      `chat non-streaming: ${JSON.stringify(text)} (${plain.choices[0].finish_reason})`);
check(plain.usage.prompt_tokens > 0 && plain.usage.completion_tokens <= 4, `usage ${JSON.stringify(plain.usage)}`);

let streamed = '', chunks = 0, usage = null, finish = null;
const stream = await client.chat.completions.create({ model: 'demo', messages: user('Hello!'), max_tokens: 4, temperature: 0,
                                                      stream: true, stream_options: { include_usage: true } });
for await (const c of stream) {
  chunks++;
  if (c.usage) usage = c.usage;
  if (c.choices[0]?.delta?.content) streamed += c.choices[0].delta.content;
  if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
}
check(streamed === text, `chat streaming (${chunks} chunks) equals non-streaming at temperature 0: ${JSON.stringify(streamed)}`);
check(finish !== null && usage && usage.completion_tokens === plain.usage.completion_tokens, `stream finish ${finish}, usage ${JSON.stringify(usage)}`);
check(usage && usage.prompt_tokens_details.cached_tokens > 0, `the same prompt again reuses the cache: ${usage?.prompt_tokens_details.cached_tokens} cached`);

const comp = await client.completions.create({ model: 'demo', prompt: 'Once upon a time', max_tokens: 3, temperature: 0 });
check(typeof comp.choices[0].text === 'string' && comp.usage.completion_tokens <= 3, `completions: ${JSON.stringify(comp.choices[0].text)}`);
let ctext = '';
for await (const c of await client.completions.create({ model: 'demo', prompt: 'Once upon a time', max_tokens: 3, temperature: 0, stream: true }))
  ctext += c.choices[0]?.text ?? '';
check(ctext === comp.choices[0].text, `completions streaming equals non-streaming: ${JSON.stringify(ctext)}`);

// --- multi-turn: the re-sent conversation prefills only the new turn
const turn1 = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Name three colours of the rainbow, please.' }];
const a1 = await client.chat.completions.create({ model: 'demo', messages: turn1, max_tokens: 5, temperature: 0 });
const turn2 = [...turn1, { role: 'assistant', content: a1.choices[0].message.content }, { role: 'user', content: 'And two more?' }];
const a2 = await client.chat.completions.create({ model: 'demo', messages: turn2, max_tokens: 2, temperature: 0 });
const cached = a2.usage.prompt_tokens_details.cached_tokens;
check(cached >= a1.usage.prompt_tokens, `second turn: ${cached} of ${a2.usage.prompt_tokens} prompt tokens cached (first turn's prompt: ${a1.usage.prompt_tokens})`);

// --- continuous batching: two answers at once run their decode steps in one pass, and each
// is the answer it gets alone (greedy)
const prompts = ['Tell me about boats.', 'Why is the sky blue?'];
const aloneAnswers = [];
for (const p of prompts)
  aloneAnswers.push((await client.chat.completions.create({ model: 'demo', messages: user(p), max_tokens: 8, temperature: 0 })).choices[0].message.content);
const passesBefore = await metric('ferry_batched_decode_passes_total');
const together = await Promise.all(prompts.map((p) => client.chat.completions.create({ model: 'demo', messages: user(p), max_tokens: 8, temperature: 0 })));
const passes = (await metric('ferry_batched_decode_passes_total')) - passesBefore;
check(together.every((r, i) => r.choices[0].message.content === aloneAnswers[i]),
      `two answers at once equal each alone: ${JSON.stringify(together.map((r) => r.choices[0].message.content))}`);
check(passes > 0, `their decode steps ran batched: ${passes} passes of several sequences`);

// --- tool calling (the demo model's template is Qwen3's): tools reach the prompt, a call
// and its result go round, streamed and not. The random-weight model does not call on its
// own; the parsing of <tool_call> answers is test_serve's.
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
const withTools = await client.chat.completions.create({ model: 'demo', messages: user('Hello!'), tools, max_tokens: 2, temperature: 0 });
check(withTools.usage.prompt_tokens > plain.usage.prompt_tokens + 40 &&
      ['stop', 'length', 'tool_calls'].includes(withTools.choices[0].finish_reason),
      `tools in the prompt: ${withTools.usage.prompt_tokens} prompt tokens (without: ${plain.usage.prompt_tokens})`);
const roundTrip = [...user('Weather in Paris?'),
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '18 C, sunny' }];
let toolFinish = null;
for await (const c of await client.chat.completions.create({ model: 'demo', messages: roundTrip, tools, max_tokens: 3, temperature: 0, stream: true }))
  if (c.choices[0]?.finish_reason) toolFinish = c.choices[0].finish_reason;
check(toolFinish !== null, `tool round trip (assistant tool_calls, tool result) streamed to its end: ${toolFinish}`);

// --- cancellation: abort a long stream; the server stops that generation
const cancelledBefore = await metric('ferry_generations_cancelled_total');
const controller = new AbortController();
let got = 0;
try {
  const s = await client.chat.completions.create({ model: 'demo', messages: user('Tell me a long story.'), max_tokens: 200, stream: true },
                                                { signal: controller.signal });
  for await (const c of s) { if (c.choices[0]?.delta?.content && ++got >= 2) controller.abort(); }
} catch (e) { /* the abort */ }
let cancelled = false;
for (let i = 0; i < 200 && !cancelled; i++) {  // bounded: 20 s
  cancelled = (await metric('ferry_generations_cancelled_total')) > cancelledBefore && (await metric('ferry_active_requests')) === 0;
  if (!cancelled) await new Promise((r) => setTimeout(r, 100));
}
check(cancelled, `abort after ${got} chunks: the generation is cancelled and its sequence freed`);

// --- bad input: each gets a 4xx with an OpenAI error body; the server keeps serving
const good = { model: 'demo', messages: user('hi'), max_tokens: 1 };
const bad = [
  ['no API key', '/v1/chat/completions', 'POST', JSON.stringify(good), 401, { 'Content-Type': 'application/json' }],
  ['wrong API key', '/v1/chat/completions', 'POST', JSON.stringify(good), 401, { Authorization: 'Bearer nope' }],
  ['not JSON', '/v1/chat/completions', 'POST', '{"messages": [', 400],
  ['JSON array body', '/v1/chat/completions', 'POST', '[1,2,3]', 400],
  ['empty body', '/v1/chat/completions', 'POST', '', 400],
  ['no messages', '/v1/chat/completions', 'POST', '{"model":"demo"}', 400],
  ['messages not an array', '/v1/chat/completions', 'POST', '{"messages":"hi"}', 400],
  ['empty messages', '/v1/chat/completions', 'POST', '{"messages":[]}', 400],
  ['message without role', '/v1/chat/completions', 'POST', '{"messages":[{"content":"x"}]}', 400],
  ['unknown role', '/v1/chat/completions', 'POST', '{"messages":[{"role":"robot","content":"x"}]}', 400],
  ['content a number', '/v1/chat/completions', 'POST', '{"messages":[{"role":"user","content":42}]}', 400],
  ['unknown model', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, model: 'gpt-9' }), 404],
  ['max_tokens above the context', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, max_tokens: 100000 }), 400],
  ['max_tokens negative', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, max_tokens: -3 }), 400],
  ['max_tokens a string', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, max_tokens: '3' }), 400],
  ['temperature out of range', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, temperature: 9 }), 400],
  ['top_p zero', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, top_p: 0 }), 400],
  ['stop not strings', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, stop: [1, 2] }), 400],
  ['frequency_penalty out of range', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, frequency_penalty: 5 }), 400],
  ['n = 3', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, n: 3 }), 400],
  ['tool_choice required', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' }), 400],
  ['tool without a name', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, tools: [{ type: 'function', function: {} }] }), 400],
  ['stream not a boolean', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, stream: 'yes' }), 400],
  ['bad UTF-8', '/v1/chat/completions', 'POST', Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('"}]}')]), 400],
  ['prompt longer than the context', '/v1/completions', 'POST', JSON.stringify({ model: 'demo', prompt: 'word '.repeat(3000), max_tokens: 1 }), 400],
  ['body over --max-body', '/v1/chat/completions', 'POST', JSON.stringify({ ...good, pad: 'x'.repeat(70000) }), 413],
  ['completions without prompt', '/v1/completions', 'POST', '{"model":"demo"}', 400],
  ['GET on a POST route', '/v1/chat/completions', 'GET', undefined, 405],
  ['unknown path', '/v1/nothing', 'GET', undefined, 404],
];
for (const [what, path, method, body, want, headers] of bad) {
  let status = 0, shape = false;
  try {
    const r = await fetch(url + path, { method, body, headers: headers ?? auth });
    status = r.status;
    const j = await r.json();
    shape = typeof j.error?.message === 'string' && typeof j.error?.type === 'string' && 'param' in j.error && 'code' in j.error;
  } catch (e) { status = 'error ' + e.message; }
  check(status === want && shape, `bad input, ${what}: ${status} (want ${want})`);
}
// Not HTTP at all, on a raw socket: 400 and the connection closes.
const rawReply = await new Promise((resolve) => {
  const s = net.connect(new URL(url).port, '127.0.0.1', () => s.write('HELLO \x00\x01 nonsense\r\n\r\n'));
  let data = '';
  s.on('data', (d) => { data += d; });
  s.on('close', () => resolve(data));
  s.on('error', () => resolve(data));
  s.setTimeout(10000, () => s.destroy());
});
check(rawReply.startsWith('HTTP/1.1 400'), `garbage on a raw socket: ${JSON.stringify(rawReply.split('\r\n')[0])}`);
const health = await fetch(url + '/health');
check(health.status === 200 && (await health.json()).status === 'ok', 'after the battery /health is ok');
check((await client.chat.completions.create(good)).choices.length === 1, 'and it still answers');

// --- load: N requests from C concurrent clients; every one answered with 200 or 503
const N = parseInt(process.env.LOAD_REQUESTS ?? '200'), C = parseInt(process.env.LOAD_CLIENTS ?? '16');
const rssBefore = rssKiB();
const latencies = [], statuses = {};
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: C }, async (_, w) => {
  while (next < N) {
    const i = next++;
    const start = performance.now();
    let status;
    try {
      const r = await fetch(url + '/v1/chat/completions', {
        method: 'POST', headers: auth,
        body: JSON.stringify({ model: 'demo', messages: user("Load test."), max_tokens: 2, temperature: 0, stream: i % 2 === 0 }) });
      const body = await r.text();
      status = r.status;
      if (status === 200 && i % 2 === 0 && !body.trimEnd().endsWith('data: [DONE]')) status = 'stream without [DONE]';
      if (status === 503) {
        if (!r.headers.get('retry-after')) status = '503 without Retry-After';
        // A polite client waits as long as Retry-After says.
        await new Promise((res) => setTimeout(res, 1000 * parseFloat(r.headers.get('retry-after') ?? '1')));
      } else {
        latencies.push(performance.now() - start);
      }
    } catch (e) { status = 'error ' + e.message; }
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}));
const wall = (performance.now() - t0) / 1000;
const rssAfter = rssKiB();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(0) : '-';
console.log(`load: ${N} requests from ${C} clients in ${wall.toFixed(1)} s; statuses ${JSON.stringify(statuses)}; ` +
            `answered p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms; server RSS ${(rssBefore / 1024).toFixed(1)} -> ${(rssAfter / 1024).toFixed(1)} MiB; ` +
            `decode ${(await metric('ferry_decode_tokens_per_second')).toFixed(2)} t/s, prefill ${(await metric('ferry_prefill_tokens_per_second')).toFixed(2)} t/s`);
const answered = Object.entries(statuses).reduce((n, [s, k]) => n + (s === '200' || s === '503' ? k : 0), 0);
check(answered === N && (statuses['200'] ?? 0) > 0, `load: every request answered with 200 or 503 (${answered}/${N})`);
check((await fetch(url + '/health')).status === 200, 'after the load /health is ok');

// --- the chat page
const page = await fetch(url + '/');
check(page.status === 200 && (await page.text()).includes('/v1/chat/completions'), 'GET / serves the chat page');

// --- drain: SIGTERM during a streamed answer lets it finish; e2e.sh checks the exit code
{
  const r = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: auth,
    body: JSON.stringify({ model: 'demo', messages: user('Count to forty.'), max_tokens: 24, stream: true }) });
  const reader = r.body.getReader(), dec = new TextDecoder();
  let body = '', signalled = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    body += dec.decode(value, { stream: true });
    if (!signalled && body.includes('"content"')) { process.kill(parseInt(pid), 'SIGTERM'); signalled = true; }
  }
  check(signalled && body.trimEnd().endsWith('data: [DONE]'), 'SIGTERM during a stream: the answer finishes with [DONE]');
  const after = await fetch(url + '/health').then((h) => h.status, () => 'refused');
  check(after === 503 || after === 'refused', `while draining /health answers 503 or the port is closed: ${after}`);
}

if (failures) { console.log(`${failures} check(s) failed`); process.exit(1); }
console.log('e2e: all checks passed');

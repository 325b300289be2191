#include "serve/chat_page.h"

namespace ferry::serve {

// Streams answers from /v1/chat/completions (SSE read with fetch), keeps the conversation
// in the page (multi-turn), shows reasoning_content dimmed above the answer, Stop aborts
// the request (the server cancels the generation), and the stats line shows the answer's tokens per second and the server's expert hit rate.
std::string_view chat_page_html() {
    return R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ferry chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:820px;margin:0 auto;padding:12px;background:#fafafa;color:#222}
h1{font-size:18px;margin:4px 0 10px}
#log{min-height:300px;border:1px solid #ddd;background:#fff;padding:8px;overflow-y:auto;height:60vh}
.msg{white-space:pre-wrap;margin:6px 0;padding:6px 8px;border-radius:6px}
.user{background:#e8f0fe}.assistant{background:#f1f3f4}.error{background:#fde8e8;color:#a00}
.thinking{color:#888;font-style:italic;font-size:13px}
#row{display:flex;gap:6px;margin-top:8px}#prompt{flex:1;height:60px;font:inherit}
button{font:inherit;padding:4px 12px}#stats{font-size:12px;color:#666;margin-top:6px;min-height:1em}
#opts{font-size:12px;color:#444;margin-bottom:6px}#opts input{width:60px}
</style></head><body>
<h1>ferry chat <span id="model" style="color:#888;font-weight:normal"></span></h1>
<div id="opts">max tokens <input id="max" value="256"> temperature <input id="temp" value="0.8">
API key <input id="key" type="password" style="width:140px"> <button id="clear">New chat</button></div>
<div id="log"></div>
<div id="row"><textarea id="prompt" placeholder="Message (Enter sends, Shift+Enter: new line)"></textarea>
<button id="send">Send</button><button id="stop" disabled>Stop</button></div>
<div id="stats"></div>
<script>
const $ = id => document.getElementById(id);
let messages = [], controller = null;
$('key').value = localStorage.getItem('ferry-key') || '';
function headers() {
  const h = {'Content-Type': 'application/json'}, k = $('key').value.trim();
  localStorage.setItem('ferry-key', k);
  if (k) h['Authorization'] = 'Bearer ' + k;
  return h;
}
function add(role, text) {
  const d = document.createElement('div'); d.className = 'msg ' + role; d.textContent = text;
  $('log').appendChild(d); $('log').scrollTop = $('log').scrollHeight; return d;
}
async function hitRate() {
  try {
    const t = await (await fetch('/metrics', {headers: headers()})).text();
    const m = t.match(/^ferry_expert_hit_rate (\S+)$/m);
    return m ? (100 * parseFloat(m[1])).toFixed(1) + '% expert hits' : '';
  } catch (e) { return ''; }
}
async function send() {
  const text = $('prompt').value.trim(); if (!text || controller) return;
  $('prompt').value = ''; messages.push({role: 'user', content: text}); add('user', text);
  const out = add('assistant', ''); let answer = '', reasoning = '', thinking = null, tokens = 0, first = 0, usage = null;
  controller = new AbortController(); $('send').disabled = true; $('stop').disabled = false;
  const start = performance.now();
  try {
    const r = await fetch('/v1/chat/completions', {method: 'POST', headers: headers(), signal: controller.signal,
      body: JSON.stringify({messages, stream: true, stream_options: {include_usage: true},
                            max_tokens: parseInt($('max').value) || 256, temperature: parseFloat($('temp').value)})});
    if (!r.ok) throw new Error((await r.json()).error.message);
    const reader = r.body.getReader(), dec = new TextDecoder(); let buf = '';
    for (;;) {
      const {value, done} = await reader.read(); if (done) break;
      buf += dec.decode(value, {stream: true}); let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!ev.startsWith('data: ')) continue; const data = ev.slice(6);
        if (data === '[DONE]') continue; const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        if (j.usage) usage = j.usage;
        const delta = (j.choices && j.choices[0] && j.choices[0].delta) || {};
        if (delta.reasoning_content) {  // shown dimmed above the answer, not sent back
          if (!thinking) { thinking = document.createElement('div'); thinking.className = 'msg thinking';
                           out.before(thinking); }
          if (!first) first = performance.now(); reasoning += delta.reasoning_content; tokens++;
          thinking.textContent = reasoning;
        }
        if (delta.content) { if (!first) first = performance.now(); answer += delta.content; tokens++; out.textContent = answer; }
      }
    }
  } catch (e) {
    if (e.name !== 'AbortError') { add('error', String(e.message || e)); }
  }
  const end = performance.now(), n = usage ? usage.completion_tokens : tokens;
  const secs = first ? (end - first) / 1000 : 0;
  messages.push({role: 'assistant', content: answer});
  const parts = [n + ' tokens', secs > 0 ? (Math.max(n - 1, 0) / secs).toFixed(1) + ' t/s' : '',
                 'first token ' + ((first || end) - start).toFixed(0) + ' ms',
                 usage ? usage.prompt_tokens_details.cached_tokens + '/' + usage.prompt_tokens + ' prompt tokens cached' : '',
                 await hitRate()];
  $('stats').textContent = parts.filter(Boolean).join(' · ');
  controller = null; $('send').disabled = false; $('stop').disabled = true;
}
$('send').onclick = send;
$('stop').onclick = () => controller && controller.abort();
$('clear').onclick = () => { messages = []; $('log').innerHTML = ''; $('stats').textContent = ''; };
$('prompt').addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); } });
// ?prompt=...&max_tokens=N&temperature=T sends one message at load (the headless-browser
// check uses it, greedy, so its answer does not depend on the sampler's seed).
const query = new URLSearchParams(location.search);
if (query.get('max_tokens')) $('max').value = query.get('max_tokens');
if (query.get('temperature')) $('temp').value = query.get('temperature');
if (query.get('prompt')) { $('prompt').value = query.get('prompt'); send(); }
fetch('/v1/models', {headers: headers()}).then(r => r.json()).then(j => { $('model').textContent = j.data[0].id; })
  .catch(() => {});
</script></body></html>
)html";
}

}  // namespace ferry::serve

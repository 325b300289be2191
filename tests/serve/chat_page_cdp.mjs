// Drives headless Chromium over the DevTools protocol (node --experimental-websocket):
// opens PAGE_URL, waits (bounded, 240 s: lavapipe under a parallel ctest is slow) until the page's stats line appears, prints the
// page's answer and stats, saves a PNG screenshot. Usage: chat_page_cdp.mjs PAGE_URL WS_URL OUT_PNG
import { writeFileSync } from 'node:fs';
const [pageUrl, wsUrl, png] = process.argv.slice(2);
const ws = new WebSocket(wsUrl);
await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = bad; });
let id = 0;
const pending = new Map();
ws.onmessage = (m) => {
  const j = JSON.parse(m.data);
  if (j.id && pending.has(j.id)) { pending.get(j.id)(j); pending.delete(j.id); }
};
const send = (method, params = {}, sessionId) => new Promise((ok) => {
  const n = ++id;
  pending.set(n, ok);
  ws.send(JSON.stringify({ id: n, method, params, sessionId }));
});
const { result: { targetId } } = await send('Target.createTarget', { url: 'about:blank' });
const { result: { sessionId } } = await send('Target.attachToTarget', { targetId, flatten: true });
await send('Emulation.setDeviceMetricsOverride', { width: 900, height: 700, deviceScaleFactor: 1, mobile: false }, sessionId);
await send('Page.navigate', { url: pageUrl }, sessionId);
const evaluate = async (expr) => (await send('Runtime.evaluate', { expression: expr, returnByValue: true }, sessionId)).result?.result?.value;
let stats = '';
for (let i = 0; i < 2400 && !stats; i++) {
  await new Promise((r) => setTimeout(r, 100));
  stats = (await evaluate("document.getElementById('stats') ? document.getElementById('stats').textContent : ''")) || '';
}
const answer = await evaluate("[...document.querySelectorAll('.msg.assistant')].map(d => d.textContent).join('|')");
const errors = await evaluate("[...document.querySelectorAll('.msg.error')].map(d => d.textContent).join('|')");
const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
writeFileSync(png, Buffer.from(shot.result.data, 'base64'));
console.log(JSON.stringify({ answer, stats, errors }));
ws.close();
process.exit(0);

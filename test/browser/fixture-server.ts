import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** Pages the browser tests drive, served on 127.0.0.1 (the network here is closed). */
const PAGES: Record<string, string> = {
  '/': `<!doctype html><title>Fixture Home</title><h1>Hello fixture</h1>
    <p>Some body text.</p><a id="to2" href="/page2">Page two</a>`,
  '/page2': '<!doctype html><title>Page Two</title><h1>Second page</h1>',
  '/form': `<!doctype html><title>Form</title>
    <style>body{margin:0} #go{position:absolute;left:100px;top:100px;width:120px;height:40px}
      #name{position:absolute;left:100px;top:200px;width:200px;height:30px}</style>
    <button id="go">Go</button><input id="name" name="name">
    <div id="out" style="position:absolute;top:300px"></div>
    <div id="keys" style="position:absolute;top:340px"></div>
    <div id="hover" style="position:absolute;top:380px"></div>
    <script>
      const out = document.getElementById('out');
      document.getElementById('go').addEventListener('click', (e) =>
        out.textContent = 'Clicked ' + (e.isTrusted ? 'trusted' : 'synthetic') + ' at ' + e.clientX + ',' + e.clientY +
          ' name=' + document.getElementById('name').value);
      document.addEventListener('keydown', (e) => {
        document.getElementById('keys').textContent += '[' + e.key + (e.isTrusted ? '' : '!') + ']';
      });
      document.getElementById('go').addEventListener('mouseenter', () =>
        document.getElementById('hover').textContent = 'hovered');
    </script>`,
  '/slow': `<!doctype html><title>Slow</title><div id="status">Loading</div>
    <script>setTimeout(() => {
      const d = document.createElement('div'); d.id = 'late'; d.textContent = 'Ready now';
      document.body.appendChild(d);
    }, Number(new URLSearchParams(location.search).get('ms') || 800));</script>`,
  '/long': `<!doctype html><title>Long</title><div style="height:6000px">Top</div><div id="bottom">Bottom</div>
    <script>window.maxScroll = 0; addEventListener('scroll', () => { maxScroll = Math.max(maxScroll, scrollY); });</script>`,
  '/dialogs': `<!doctype html><title>Dialogs</title><div id="out"></div>
    <button id="alert" onclick="alert('Hi there'); out.textContent = 'alert:done'">A</button>
    <button id="confirm" onclick="out.textContent = 'confirm:' + confirm('Sure?')">C</button>
    <button id="prompt" onclick="out.textContent = 'prompt:' + prompt('Name?', 'nobody')">P</button>`,
  '/counter': `<!doctype html><title>Counter</title><div id="n">0</div>
    <button id="inc" onclick="n.textContent = Number(n.textContent) + 1">+1</button>
    <button id="more" onclick="n.textContent = Number(n.textContent) + 1; if (++window.loads === 3) this.remove()">Load more</button>
    <script>window.loads = 0;</script>`,
  // Records what a behaviour detector looks at: pointer path, key timing, trust flags.
  '/input-timing': `<!doctype html><title>Input timing</title>
    <style>body{margin:0} #target{position:absolute;left:700px;top:400px;width:100px;height:40px}
      #field{position:absolute;left:100px;top:100px;width:200px;height:30px}</style>
    <input id="field"><button id="target">Target</button>
    <script>
      window.rec = { moves: [], keys: [], clicks: [], untrusted: 0 };
      const note = (e) => { if (!e.isTrusted) rec.untrusted++; };
      addEventListener('mousemove', (e) => { note(e); rec.moves.push([e.clientX, e.clientY, performance.now()]); });
      addEventListener('keydown', (e) => { note(e); rec.keys.push(performance.now()); });
      for (const t of ['mousedown', 'mouseup', 'click']) addEventListener(t, (e) => { note(e); rec.clicks.push(t + (e.isTrusted ? '' : '!')); });
    </script>`,
  '/challenge': `<!doctype html><title>Challenge</title><p>Please wait</p>
    <div style="height:2000px"></div>
    <div class="cf-turnstile" data-sitekey="site-key-secret-123" style="width:300px;height:65px"></div>
    <iframe src="https://challenges.cloudflare.com/cdn-cgi/challenge-platform/h/b/turnstile?token=tok-secret-456" style="width:300px;height:65px"></iframe>`,
  '/downloads': `<!doctype html><title>Downloads</title>
    <a id="dl" href="/download-file">Get the report</a><input type="file" id="up"><div id="got"></div>
    <script>up.addEventListener('change', async () => {
      const f = up.files[0]; got.textContent = f.name + ':' + (await f.text());
    });</script>`,
  '/inspect': `<!doctype html><title>Inspect</title>
    <style>body{margin:0} .item{color:rgb(255, 0, 0);display:block;height:20px} #hidden{display:none}</style>
    <ul id="list"><li class="item" data-n="1">One</li><li class="item" data-n="2">Two</li><li class="item" data-n="3">Three</li></ul>
    <p id="hidden">Hidden</p><a id="link" href="/page2" title="to two">Link text</a>`,
  '/tells': `<!doctype html><title>Tells</title><pre id="tells"></pre>
    <script>
      const tells = [];
      if (navigator.webdriver) tells.push('navigator.webdriver is true');
      if (/Headless/i.test(navigator.userAgent)) tells.push('user agent says headless');
      if (!navigator.plugins || navigator.plugins.length === 0) tells.push('no plugins');
      if (!navigator.languages || navigator.languages.length === 0) tells.push('no languages');
      const brands = navigator.userAgentData ? navigator.userAgentData.brands.map((b) => b.brand) : [];
      if (brands.some((b) => /Headless/i.test(b))) tells.push('client hints say headless');
      if (typeof window.chrome !== 'object') tells.push('window.chrome missing');
      document.getElementById('tells').textContent = JSON.stringify({ tells, ua: navigator.userAgent, brands });
    </script>`,
  // Loads one image, one fetch() and one WebSocket from this page's own server and the same
  // three (plus a dedicated worker's WebSocket and a shared worker's fetch, which Playwright's
  // route does not see) from ?private=<origin>; #report gets {name: "loaded"|"failed"}.
  '/mixed': `<!doctype html><title>Mixed</title><pre id="report"></pre>
    <script>
      const priv = new URLSearchParams(location.search).get('private');
      const privWs = priv.replace(/^http/, 'ws');
      const results = {};
      const EXPECTED = 8;
      const set = (name, outcome) => {
        results[name] = outcome;
        if (Object.keys(results).length === EXPECTED)
          document.getElementById('report').textContent = JSON.stringify(results);
      };
      const img = (name, src) => {
        const i = new Image();
        i.onload = () => set(name, 'loaded');
        i.onerror = () => set(name, 'failed');
        i.src = src;
      };
      const get = (name, url) =>
        fetch(url).then((r) => r.text()).then(() => set(name, 'loaded'), () => set(name, 'failed'));
      const ws = (name, url) => {
        const w = new WebSocket(url);
        w.onopen = () => { set(name, 'loaded'); w.close(); };
        w.onerror = () => set(name, 'failed');
      };
      img('ownImg', '/pixel.png');
      img('privateImg', priv + '/pixel.png');
      get('ownFetch', '/data.json');
      get('privateFetch', priv + '/data.json');
      ws('ownWs', 'ws://' + location.host + '/ws');
      ws('privateWs', privWs + '/ws');
      const worker = new Worker(URL.createObjectURL(new Blob([
        "onmessage = (e) => { const w = new WebSocket(e.data);" +
        " w.onopen = () => postMessage('loaded'); w.onerror = () => postMessage('failed'); };",
      ])));
      worker.onmessage = (e) => set('privateWorkerWs', e.data);
      worker.postMessage(privWs + '/ws');
      const shared = new SharedWorker(URL.createObjectURL(new Blob([
        "onconnect = (e) => { const port = e.ports[0]; port.onmessage = (m) =>" +
        " fetch(m.data).then(() => port.postMessage('loaded'), () => port.postMessage('failed')); };",
      ])));
      shared.port.onmessage = (e) => set('privateSharedWorkerFetch', e.data);
      shared.port.postMessage(priv + '/data.json');
    </script>`,
};

/** A 1×1 transparent PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

export interface FixtureServer {
  url: string;
  /** User agents of the requests it received: what Chromium sends on the wire. */
  userAgents: string[];
  /** Every request it received, WebSocket upgrades included (`GET /path`, `WS /path`). */
  hits: string[];
  close(): Promise<void>;
}

export async function startFixtureServer(host = '127.0.0.1'): Promise<FixtureServer> {
  const userAgents: string[] = [];
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    userAgents.push(String(req.headers['user-agent']));
    hits.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/pixel.png') {
      res.writeHead(200, { 'content-type': 'image/png' }).end(PIXEL);
      return;
    }
    if (url.pathname === '/data.json') {
      // CORS-readable from any origin, so a cross-origin fetch fails only if it is blocked.
      res
        .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
        .end('{}');
      return;
    }
    if (url.pathname === '/download-file') {
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-disposition': 'attachment; filename="report.txt"',
        })
        .end('hello download');
      return;
    }
    if (url.pathname === '/referer') {
      const referer = String(req.headers.referer ?? 'none').replace(/[<&]/g, '');
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><title>Referer</title><p id="r">${referer}</p>`);
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    const page = PAGES[url.pathname];
    if (!page) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  // Just enough of RFC 6455 for the page's onopen to fire.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req, socket) => {
    hits.push(`WS ${req.url}`);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.on('error', () => {});
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    userAgents,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

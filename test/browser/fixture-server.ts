import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  '/long': `<!doctype html><title>Long</title><div style="height:6000px">Top</div><div id="bottom">Bottom</div>`,
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
};

export interface FixtureServer {
  url: string;
  /** User agents of the requests it received: what Chromium sends on the wire. */
  userAgents: string[];
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const userAgents: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    userAgents.push(String(req.headers['user-agent']));
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    userAgents,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

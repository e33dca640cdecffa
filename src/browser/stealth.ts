/**
 * What pages must not see: headless Chromium announces itself in the user agent (and its
 * client-hint brands) and, under automation, through navigator.webdriver. The launch flags
 * handle webdriver; the context gets a plain desktop Chrome user agent and this init script.
 */

/** A desktop Chrome user agent of the running version, without "HeadlessChrome". */
export function stealthUserAgent(browserVersion: string): string {
  const major = browserVersion.split('.')[0] ?? '120';
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

/**
 * Runs before any page script in every frame. Each patch keeps the native getter's shape
 * (defined on the prototype, not the instance) because detectors compare descriptors.
 */
export const STEALTH_INIT_SCRIPT = `(() => {
  const define = (proto, name, get) => {
    try { Object.defineProperty(proto, name, { get, configurable: true, enumerable: true }); } catch {}
  };
  if (navigator.webdriver) define(Navigator.prototype, 'webdriver', () => false);
  if (!navigator.languages || navigator.languages.length === 0) {
    define(Navigator.prototype, 'languages', () => Object.freeze(['en-US', 'en']));
  }
  const uad = navigator.userAgentData;
  if (uad && uad.brands.some((b) => /Headless/i.test(b.brand))) {
    const brands = Object.freeze(uad.brands.map((b) => ({ brand: b.brand.replace(/HeadlessChrome/i, 'Google Chrome'), version: b.version })));
    define(Object.getPrototypeOf(uad), 'brands', () => brands);
  }
})();`;

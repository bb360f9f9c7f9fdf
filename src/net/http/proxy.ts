// Which HTTP proxy (if any) a URL goes through: explicit options first, then the usual
// environment variables (`https_proxy`/`http_proxy`, either case; `no_proxy` exempts hosts).
// https goes through the proxy with CONNECT, http as an absolute-URI request.
// See docs/net-transfer.md §3.

export interface ProxyOptions {
  /** A proxy URL (`http://host:port`), `null` for none; undefined reads the environment. */
  readonly proxy?: string | null;
  /** Comma-separated hosts that skip the proxy; undefined reads `no_proxy`. */
  readonly noProxy?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function envVar(env: Env, name: string): string | undefined {
  const v = env[name] ?? env[name.toUpperCase()];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * `no_proxy` entries: `*` (everything), a host or IP (exact), `.example.com` or `example.com`
 * (the domain and its subdomains), each optionally with `:port`.
 */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    let e = raw.trim().toLowerCase();
    if (e === '') continue;
    if (e === '*') return true;
    // `[v6]:port`, a bare IPv6 address (two or more colons: no port), or `host[:port]`.
    const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(e) ?? (e.split(':').length > 2 ? [e, e] : /^(.*?)(?::(\d+))?$/.exec(e));
    e = m?.[1] ?? e;
    if (m?.[2] !== undefined && m[2] !== port) continue;
    const domain = e.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** The proxy for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, o: ProxyOptions = {}, env: Env = process.env): URL | undefined {
  const raw =
    o.proxy === null ? undefined : (o.proxy ?? envVar(env, url.protocol === 'https:' ? 'https_proxy' : 'http_proxy'));
  if (raw === undefined) return undefined;
  const noProxy = o.noProxy ?? envVar(env, 'no_proxy') ?? '';
  if (bypassesProxy(url, noProxy)) return undefined;
  let p: URL;
  try {
    p = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`proxy ${JSON.stringify(raw)} is not a URL`);
  }
  if (p.protocol !== 'http:') throw new Error(`proxy ${p.href}: only http:// proxies are supported`);
  return p;
}

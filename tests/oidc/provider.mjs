// A real OpenID Connect provider for Gavel's tests: panva's oidc-provider
// (OpenID Certified), with the device flow, JWT access tokens for Gavel's
// audience and a `groups` claim read from an accounts file.
//
//   GAVEL_OIDC_MODULES=DIR node provider.mjs ACCOUNTS.json [PORT]
//
// DIR is the node_modules holding oidc-provider (scripts/test installs it
// under target/test-tools/oidc).
// Prints `oidc-provider: listening on http://127.0.0.1:PORT` when ready.
// Test-only routes, never part of a real provider:
//   POST /_test/approve  {"user_code", "account", "abort"?}  acts as the
//        person's browser on the provider's own pages (enter the code,
//        confirm, sign in, consent) and answers what the last page said.
//   POST /_test/groups   {"account", "groups"}  changes an account's groups,
//        as a directory administrator would.
//   POST /_test/accounts {"account", "email", "name", "groups"}  adds a
//        person to the directory.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.GAVEL_OIDC_MODULES || 'node_modules';
const { default: Provider } = await import(
  pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const [accountsFile, portArg] = process.argv.slice(2);
const accounts = JSON.parse(readFileSync(accountsFile, 'utf8'));
const port = Number(portArg || 0);
const audience = process.env.GAVEL_TEST_AUDIENCE || 'gavel';
const accessTtl = Number(process.env.GAVEL_TEST_ACCESS_TTL || 300);
const deviceTtl = Number(process.env.GAVEL_TEST_DEVICE_TTL || 600);
const withholdRefresh = process.env.GAVEL_TEST_REFRESH === 'never';

function account(id) {
  const entry = accounts[id];
  if (!entry) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: entry.email,
        email_verified: entry.email_verified ?? true,
        name: entry.name,
        groups: entry.groups,
      };
    },
  };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'gavel-cli',
    client_name: 'Gavel',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code'],
    response_types: ['code'],
    // A native app: any port on loopback (RFC 8252).
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/callback'],
  }],
  findAccount: (_ctx, id) => account(id),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => `urn:${audience}`,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid email profile groups offline_access',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: accessTtl,
      }),
    },
  },
  // Gavel reads who the person is from the access token it is sent.
  extraTokenClaims: async (_ctx, token) => {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const entry = accounts[token.accountId];
    // `oid`: a second id of the person, as Entra ID sends (its `sub` differs
    // per application); a server with `subject_claim = "oid"` reads it.
    return entry
      ? { email: entry.email, name: entry.name, groups: entry.groups, oid: `oid-${token.accountId}` }
      : undefined;
  },
  // As the provider does by default: a refresh token only where the grant
  // holds offline_access (which a browser sign-in gets only when it asks
  // for consent, OpenID Connect Core §11); none at all when the test
  // withholds them (GAVEL_TEST_REFRESH=never).
  issueRefreshToken: async (_ctx, client, code) => withholdRefresh ? false
    : client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  loadExistingGrant: async (ctx) => {
    // Consent once per account and client, with every scope asked for.
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    return undefined;
  },
  ttl: { AccessToken: accessTtl, DeviceCode: deviceTtl, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 600 },
  pkce: { required: () => true },
});
provider.proxy = false;

// A tiny browser: follows redirects, keeps cookies, submits each page's form.
async function actAsBrowser(startUrl, { login, abort }) {
  const jar = new Map();
  const send = async (url, init = {}) => {
    const headers = { ...(init.headers || {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  let response = await send(startUrl);
  for (let step = 0; step < 20; step += 1) {
    if (response.status >= 300 && response.status < 400) {
      response = await send(new URL(response.headers.get('location'), issuer).href);
      continue;
    }
    const html = await response.text();
    if (/Sign-in Success|Gavel: signed in/.test(html)) return { ok: true, page: 'success' };
    if (response.status >= 400 || /class="red"/.test(html)) return { ok: false, page: html.slice(0, 2000) };
    const form = /<form([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
    if (!form) return { ok: false, page: html.slice(0, 2000) };
    const attr = (name, text) => new RegExp(`${name}="([^"]*)"`, 'i').exec(text)?.[1];
    const action = new URL(attr('action', form[1]) || startUrl, issuer).href;
    const fields = new URLSearchParams();
    for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
      const name = attr('name', input[1]);
      if (!name) continue;
      let value = attr('value', input[1]) ?? '';
      if (name === 'login') value = login;
      if (name === 'password') value = 'any';
      fields.append(name, value);
    }
    // The confirm form holds confirm=yes; its Abort button, outside the
    // form, adds abort=yes.
    const confirming = /op\.deviceConfirmForm/.test(form[1]);
    if (abort && confirming) fields.append('abort', 'yes');
    response = await send(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
    if (abort && confirming) {
      const text = await response.text();
      return { ok: /interrupted/i.test(text), page: 'aborted' };
    }
  }
  return { ok: false, page: 'too many steps' };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  if (req.method === 'POST' && req.url === '/_test/approve') {
    const body = await readJson(req);
    const url = `${issuer}/device?user_code=${encodeURIComponent(body.user_code)}`;
    const result = await actAsBrowser(url, { login: body.account, abort: body.abort });
    res.writeHead(result.ok ? 200 : 409, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
    return;
  }
  if (req.method === 'POST' && req.url === '/_test/authorize') {
    // The browser half of the authorization-code flow: open the URL the
    // client printed, sign in, consent, follow the redirect to the client.
    const body = await readJson(req);
    const result = await actAsBrowser(body.url, { login: body.account, abort: false });
    res.writeHead(result.ok ? 200 : 409, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
    return;
  }
  if (req.method === 'POST' && req.url === '/_test/accounts') {
    const body = await readJson(req);
    accounts[body.account] = { email: body.email, name: body.name, groups: body.groups };
    res.writeHead(204); res.end();
    return;
  }
  if (req.method === 'POST' && req.url === '/_test/groups') {
    const body = await readJson(req);
    if (!accounts[body.account]) { res.writeHead(404); res.end(); return; }
    accounts[body.account].groups = body.groups;
    res.writeHead(204); res.end();
    return;
  }
  callback(req, res);
});

console.log(`oidc-provider: listening on ${issuer}`);

// A relying party on panva's openid-client 6, unmodified: discovery, PKCE, RFC 9207 `iss`
// check, ID token (signature verified against `jwks_uri`), userinfo, refresh, introspection,
// revocation, RP-initiated logout. Run by tests/interop/test_openid_client.py:
//   node rp.mjs start  '{"issuer", "client_id", "client_secret", "auth", "alg", "redirect_uri"}'
//   node rp.mjs finish '{... the same, "callback", "verifier", "state", "nonce", "post_logout"}'
// Each prints one JSON object. The person's browser is the test's; this is the RP's side.
import * as client from 'openid-client'

const args = JSON.parse(process.argv[3])

async function configuration (algorithm = 'oidc') {
  const auth = args.auth === 'client_secret_post'
    ? client.ClientSecretPost(args.client_secret)
    : client.ClientSecretBasic(args.client_secret)
  const config = await client.discovery(
    new URL(args.issuer),
    args.client_id,
    { id_token_signed_response_alg: args.alg }, // ES256 or RS256, as registered
    auth,
    // the tests' bridge listens on plain http on loopback; drop this line in production
    { algorithm, execute: [client.allowInsecureRequests] }
  )
  client.enableNonRepudiationChecks(config) // verify the ID token signature with jwks_uri
  return config
}

async function start () {
  const config = await configuration()
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: args.redirect_uri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce
  })
  return { url: url.href, verifier, state, nonce }
}

async function refused (promise) {
  try {
    await promise
    return null
  } catch (error) {
    return error.error ?? error.code ?? String(error)
  }
}

async function finish () {
  const config = await configuration()
  const checks = {
    pkceCodeVerifier: args.verifier,
    expectedState: args.state,
    expectedNonce: args.nonce,
    idTokenExpected: true
  }
  // RFC 9207: a response naming another issuer is refused before the code is sent anywhere
  const forged = new URL(args.callback)
  forged.searchParams.set('iss', 'https://attacker.example')
  const issRefused = await refused(client.authorizationCodeGrant(config, forged, checks))

  const tokens = await client.authorizationCodeGrant(config, new URL(args.callback), checks)
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  // asking a refresh for more than was granted is refused, and changes nothing (RFC 6749 §6)
  const widerRefused = await refused(
    client.refreshTokenGrant(config, tokens.refresh_token, { scope: 'openid profile email' })
  )
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const introspected = await client.tokenIntrospection(config, refreshed.access_token)
  await client.tokenRevocation(config, refreshed.refresh_token) // revokes the whole family
  const afterRevocation = await client.tokenIntrospection(config, refreshed.access_token)
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token,
    post_logout_redirect_uri: args.post_logout,
    state: 'bye'
  })
  const oauth2 = await configuration('oauth2') // RFC 8414 metadata
  return {
    iss_refused: issRefused,
    id_token: tokens.id_token,
    header_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
    claims,
    userinfo,
    wider_refused: widerRefused,
    refreshed_claims: refreshed.claims(),
    introspected,
    after_revocation: afterRevocation,
    end_session_url: endSession.href,
    oauth2_issuer: oauth2.serverMetadata().issuer
  }
}

const result = process.argv[2] === 'start' ? await start() : await finish()
process.stdout.write(JSON.stringify(result))

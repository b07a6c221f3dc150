// Verify an SM2SM3 compact JWS (ID token, consent receipt, audit checkpoint) with npm
// sm-crypto, given the bridge's SM2 JWK Set (discovery: sm2_jwks_uri). Prints
// {"verified": true|false, "kid": ...}. Run by tests/interop/test_sm2_verifiers.py:
//   node verify-sm2.mjs '{"jws": "...", "jwks": {"keys": [...]}}'
import smCrypto from 'sm-crypto'

const { jws, jwks } = JSON.parse(process.argv[2])
const [header, payload, signature] = jws.split('.')
const { alg, kid } = JSON.parse(Buffer.from(header, 'base64url'))
const key = jwks.keys.find((k) => k.kid === kid && k.crv === 'SM2')
if (alg !== 'SM2SM3' || !key) throw new Error('not an SM2SM3 token of a published key')
const hex = (b64url) => Buffer.from(b64url, 'base64url').toString('hex')
const verified = smCrypto.sm2.doVerifySignature(
  `${header}.${payload}`, // the JWS signing input (ASCII)
  hex(signature), // raw r||s, 64 bytes (not DER)
  '04' + hex(key.x) + hex(key.y), // uncompressed public key
  { hash: true, der: false, userId: '1234567812345678' } // SM3 with Z of the default ID
)
process.stdout.write(JSON.stringify({ verified, kid }))

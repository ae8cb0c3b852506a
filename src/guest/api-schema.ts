// [api] of vserver.toml: the daemon's optional HTTPS listener and who may use it.
import * as v from 'valibot';

/** host:port, IPv4 or [IPv6]; the daemon listens there with TLS 1.3 only. */
const listen = v.pipe(
  v.string(),
  v.regex(
    /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/,
    'must be HOST:PORT, for example "127.0.0.1:8443" or "[::1]:8443"',
  ),
);

/** SHA-256 of a client certificate (DER), hex with or without colons, as openssl x509 -fingerprint -sha256 prints it. */
export const fingerprint = v.pipe(
  v.string(),
  v.regex(
    /^([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$|^[0-9a-fA-F]{64}$/,
    'must be a SHA-256 fingerprint: 64 hex digits, with or without colons (openssl x509 -noout -fingerprint -sha256 -in CERT)',
  ),
);

const size = (min: number, max: number) =>
  v.pipe(
    v.number(),
    v.integer('must be a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

export const ApiSchema = v.strictObject({
  /** Absent: the daemon serves only its Unix socket. */
  listen: v.optional(listen),
  /** Client certificates that may use the TCP listener, by fingerprint. */
  trusted_certs: v.optional(v.array(fingerprint), []),
  /** Largest JSON request body in bytes. */
  body_limit: v.optional(size(1024, 1 << 30), 1 << 20),
  /** Largest tarball a build may upload, in bytes. */
  upload_limit: v.optional(size(1 << 20, 2 ** 40), 8 * 2 ** 30),
});

export type ApiConfig = v.InferOutput<typeof ApiSchema>;

/** [api] with its defaults, also when vserver.toml has no [api] at all. */
export function apiConfig(api: ApiConfig | undefined): ApiConfig {
  return api ?? v.parse(ApiSchema, {});
}

/** The canonical form of a fingerprint: lower-case hex without colons. */
export function normalFingerprint(f: string): string {
  return f.replace(/:/g, '').toLowerCase();
}

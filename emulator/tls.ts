import { isIP } from 'node:net'
import { generate } from 'selfsigned'

export interface KeyAndCert {
  readonly key: string
  readonly cert: string
}

/**
 * A certificate authority made for one run: the action process trusts it through
 * NODE_EXTRA_CA_CERTS, as a runner trusts a corporate CA, and nothing outside the run does.
 */
export class TestCertificateAuthority {
  private constructor(readonly ca: KeyAndCert) {}

  static async create(): Promise<TestCertificateAuthority> {
    const notAfterDate = new Date(Date.now() + 24 * 3600 * 1000)
    const made = await generate([{ name: 'commonName', value: 'Databricks OIDC Login test CA' }], {
      keySize: 2048,
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        {
          name: 'keyUsage',
          keyCertSign: true,
          cRLSign: true,
          digitalSignature: true,
          critical: true
        }
      ]
    })
    return new TestCertificateAuthority({ key: made.private, cert: made.cert })
  }

  /** A server certificate for these DNS names and IP addresses, signed by this CA. */
  async issue(names: readonly string[]): Promise<KeyAndCert> {
    const made = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
      keySize: 2048,
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
      ca: this.ca,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: names.map(name =>
            isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name }
          )
        }
      ]
    })
    return { key: made.private, cert: made.cert }
  }
}

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

  /** `commonName`: another CA of the same name is one a verifier takes for this one. */
  static async create(
    commonName = 'Databricks OIDC Login test CA'
  ): Promise<TestCertificateAuthority> {
    const notAfterDate = new Date(Date.now() + 24 * 3600 * 1000)
    const made = await generate([{ name: 'commonName', value: commonName }], {
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

  /**
   * A server certificate for these DNS names and IP addresses, signed by this CA; valid for a day
   * from now, or for the given dates (an expired certificate).
   */
  async issue(
    names: readonly string[],
    dates: { readonly notBeforeDate: Date; readonly notAfterDate: Date } = {
      notBeforeDate: new Date(),
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000)
    }
  ): Promise<KeyAndCert> {
    const made = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
      keySize: 2048,
      ...dates,
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

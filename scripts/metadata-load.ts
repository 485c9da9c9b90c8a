// One load process of `npm run bench`'s credential-service scenario, run by Node 24 as it is (type
// stripping). It asks the service for its token the way an SDK does (GET with the two headers), over
// raw keep-alive sockets: a load generator lighter than the service it measures, so that the figures
// are the service's and not an HTTP client library's.
//
// node scripts/metadata-load.ts <url> <host> <connections> <requests per connection> <max gap ms>
// Writes "R" once warm, waits for a line on stdin, then writes the latencies (ms) as a JSON array.
import { connect, type Socket } from 'node:net'

const [urlArg = '', host = '', connections = '1', requests = '1', gap = '0'] = process.argv.slice(2)
const url = new URL(urlArg)
if (url.hostname !== '127.0.0.1') throw new Error('metadata-load: loopback only')
const request = Buffer.from(
  `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nX-Databricks-Metadata-Version: 1\r\n` +
    `X-Databricks-Host: ${host}\r\nAccept: application/json\r\n\r\n`
)

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket))
    socket.setNoDelay(true)
    socket.setEncoding('latin1')
    socket.once('error', reject)
  })
}

/** One request on a kept-alive socket: the time until the whole answer is in. */
function ask(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = ''
    const started = performance.now()
    const onData = (chunk: string): void => {
      text += chunk
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const length = /content-length: (\d+)/i.exec(text.slice(0, end))?.[1]
      if (length === undefined) return reject(new Error('metadata-load: no content-length'))
      if (text.length - end - 4 < Number(length)) return
      socket.off('data', onData)
      if (!text.startsWith('HTTP/1.1 200 '))
        reject(new Error(`metadata-load: ${text.slice(0, 12)}`))
      else resolve(performance.now() - started)
    }
    socket.on('data', onData)
    socket.write(request)
  })
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const sockets = await Promise.all(Array.from({ length: Number(connections) }, open))
// Warm: connections open, both sides' code compiled.
for (const socket of sockets) for (let i = 0; i < 20; i++) await ask(socket)
process.stdout.write('R')
await new Promise(resolve => process.stdin.once('data', resolve))
const latencies = await Promise.all(
  sockets.map(async socket => {
    const mine: number[] = []
    for (let i = 0; i < Number(requests); i++) {
      if (Number(gap) > 0) await sleep(Math.random() * Number(gap))
      mine.push(await ask(socket))
    }
    socket.destroy()
    return mine
  })
)
process.stdout.write(JSON.stringify(latencies.flat()))

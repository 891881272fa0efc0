/**
 * Every error answers in the API's `{type, message, param?}` shape over a real socket, not only the ones the
 * route handlers throw: a body in another charset, Node's HTTP parser refusing a request before Fastify sees it
 * (oversized headers, a NUL byte in a header), Fastify's bad-URL and parameter-length answers, an unknown
 * `Expect`, and the 503 while the server is closing.
 */
import * as net from 'node:net';
import { buildTestApp, TEST_API_KEY, type TestApp } from '../helpers/app';

let t: TestApp;
let port: number;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Parses the HTTP/1.1 responses in `text` (Content-Length framed, as every response here is). */
function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length']);
    const bodyText = Buffer.from(rest.slice(headEnd + 4), 'latin1').subarray(0, length).toString('utf8');
    let body: unknown = bodyText;
    try {
      body = JSON.parse(bodyText);
    } catch {
      // not JSON: left as text, for the assertion to show
    }
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = Buffer.from(rest.slice(headEnd + 4), 'latin1').subarray(length).toString('latin1');
  }
  return out;
}

/** Writes `request` on a new connection and reads until the server closes it (or 2 s pass). */
function raw(request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const [first] = parseResponses(Buffer.concat(chunks).toString('latin1'));
      if (first) resolve(first);
      else reject(new Error(`no response: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    });
  });
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

function expectApiError(res: RawResponse, status: number, param?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({ type: status >= 500 ? 'api_error' : 'invalid_request_error', message: expect.any(String), ...(param ? { param } : {}) });
}

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await t?.close();
});

describe('errors raised before a route runs', () => {
  test('a JSON body labelled charset=utf-7 is a 415 (JSON is UTF-8), and nothing is stored', async () => {
    const body = JSON.stringify({ name: 'Utf Seven', email: 'utf7@example.com', timezone: 'UTC' });
    for (const contentType of ['application/json; charset=utf-7', 'application/json;charset="UTF-16"']) {
      const res = await raw(
        head(['POST /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, `Content-Type: ${contentType}`, `Content-Length: ${body.length}`, 'Connection: close']) + body,
      );
      expectApiError(res, 415);
      expect((res.body as { message: string }).message).toMatch(/UTF-8/);
    }
    expect((await t.db.query('SELECT 1 FROM users')).rows).toEqual([]);
    const utf8 = await raw(
      head(['POST /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, 'Content-Type: application/json; charset=UTF-8', `Content-Length: ${body.length}`, 'Connection: close']) + body,
    );
    expect(utf8.status).toBe(201);
  });

  test('headers over the size limit are a 431 in the API shape (Node parser, clientError)', async () => {
    const res = await raw(head(['GET /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, `X-Big: ${'a'.repeat(20_000)}`]));
    expectApiError(res, 431);
    expect(res.headers.connection).toBe('close');
  });

  test('a NUL byte in a header is a 400 naming the header (Node parser, clientError)', async () => {
    const res = await raw(Buffer.from(head(['GET /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, 'X-Note: a\u0000b']), 'latin1'));
    expectApiError(res, 400, 'X-Note');
  });

  test('a bare CR in a header and a malformed method are 400s too', async () => {
    expectApiError(await raw(head(['GET /v2/users HTTP/1.1', 'Host: x', 'X-Note: a\rb'])), 400, 'X-Note');
    expectApiError(await raw(head(['G@T /v2/users HTTP/1.1', 'Host: x'])), 400);
  });

  test("Fastify's bad-URL and parameter-length answers", async () => {
    expectApiError(await raw(head(['GET /v2/users/USR-%E0%A4%A HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, 'Connection: close'])), 400);
    expectApiError(await raw(head([`GET /v2/users/USR-${'A'.repeat(200)} HTTP/1.1`, 'Host: x', `API-Key: ${TEST_API_KEY}`, 'Connection: close'])), 414);
  });

  test('an Expect header other than 100-continue is a 417 with a body', async () => {
    const res = await raw(head(['GET /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, 'Expect: teapot', 'Connection: close']));
    expectApiError(res, 417, 'Expect');
  });
});

test('a request arriving while the server closes is a 503 in the API shape', async () => {
  const body = JSON.stringify({ name: 'Last One', email: 'last@example.com', timezone: 'UTC' });
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await new Promise((resolve) => socket.on('connect', resolve));
  // A request in flight (its body half sent) keeps the connection busy while close() begins.
  socket.write(head(['POST /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`, 'Content-Type: application/json', `Content-Length: ${body.length}`]) + body.slice(0, 5));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = t.app.close();
  while (t.app.server.listening) await new Promise((resolve) => setImmediate(resolve));
  // The rest of the body, then a second request pipelined behind it: routed while closing.
  socket.write(body.slice(5) + head(['GET /v2/users HTTP/1.1', 'Host: x', `API-Key: ${TEST_API_KEY}`]));
  await closed;
  await closing;
  const [first, second] = parseResponses(Buffer.concat(chunks).toString('latin1'));
  expect(first.status).toBe(201);
  expectApiError(second, 503);
  expect(second.headers.connection).toBe('close');
});

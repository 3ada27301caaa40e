// The xmodal API, web UI and OpenAI-compatible /v1/embeddings inside an Express app, under /xmodal.
//   npx tsx examples/express-server.ts [port]
import express from 'express';
import { createHandler } from 'xmodal/server';

const port = Number(process.argv[2] ?? 3000);
const app = express();
const xmodal = await createHandler({ prefix: '/xmodal', home: process.env.XMODAL_HOME ?? './xmodal-data' });

// Mount before any body parser: xmodal reads its own request bodies (JSON and multipart uploads).
app.use('/xmodal', xmodal);
app.use(express.json());
app.get('/', (_request, response) => {
  response.send('<a href="/xmodal/">search</a>');
});

const server = app.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${actual}/ (xmodal at /xmodal/)`);
});
const stop = () => server.close(() => xmodal.close());
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

// node:http as CommonJS hands it out. An ESM `import` of node:http builds a module facade that reads
// every export, and one of them (the lazy WebSocket of Node 22) loads Node's fetch, http2 and
// worker_threads: about 10 ms of every cold start. infra/bundling.ts points `node:http` here.
module.exports = process.getBuiltinModule('node:http');

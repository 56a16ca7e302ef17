// The model's worker, started by the processing worker (worker.js): model-host.js on a thread
// of its own.
import { handle } from './model-host.js';

self.onmessage = ({ data }) => handle(data, (msg, transfer = []) => self.postMessage(msg, transfer));

// bench/memory.py's Pyodide half: the same stages in Pyodide 0.27.7 under Node, with the built
// site's packages and wheel. Usage (bench/memory.py runs it): node bench/memory_pyodide.mjs DIR SIZES
// DIR holds SIZE.jpg (the photo) and SIZE.npy (the model's matte) for each of the comma-separated
// SIZES; prints one JSON line, {size: {path: {stages, pixels}}}. Each run starts a fresh Pyodide,
// so that each heap's growth is that run's alone.
import { loadPyodide } from '../node_modules/pyodide/pyodide.mjs';
import fs from 'fs';
import path from 'path';

const [dir, sizes] = process.argv.slice(2);
const site = path.resolve('build/site') + '/';
const info = JSON.parse(fs.readFileSync(site + 'build-info.json', 'utf8'));
async function boot() {
  const py = await loadPyodide({ indexURL: site + 'vendor/pyodide/' });
  await py.loadPackage(info.pyodide_packages, { messageCallback: () => {} });
  py.FS.writeFile('/tmp/alphacut.whl', fs.readFileSync(site + info.wheel));
  py.runPython("import site, zipfile; zipfile.ZipFile('/tmp/alphacut.whl').extractall(site.getsitepackages()[0])");
  py.FS.mkdirTree('/bench');
  py.FS.writeFile('/bench/bench_memory.py', fs.readFileSync('bench/memory.py'));
  py.runPython("import sys; sys.path.insert(0, '/bench'); import bench_memory, alphacut.pipeline");
  return py;
}

const out = {};
for (const size of sizes.split(',')) {
  out[size] = {};
  for (const name of ['default', 'escalate=force']) { // bench_memory.PATHS; a fresh Pyodide for each run
    const py = await boot();
    py.FS.writeFile(`/tmp/${size}.jpg`, fs.readFileSync(path.join(dir, `${size}.jpg`)));
    py.FS.writeFile(`/tmp/${size}.npy`, fs.readFileSync(path.join(dir, `${size}.npy`)));
    py.globals.set('SIZE', size);
    py.globals.set('NAME', name);
    out[size][name] = JSON.parse(await py.runPythonAsync(`
import json
import numpy as np
import bench_memory as bm
data = open(f'/tmp/{SIZE}.jpg', 'rb').read()
coarse = np.load(f'/tmp/{SIZE}.npy')
json.dumps(await bm.stages(data, coarse, bm.PATHS[NAME], bm._WasmHeap()))
`));
  }
}
console.log(JSON.stringify(out));

// Decode every file of the bad-input corpus with the built wheel in Pyodide (Pillow 10.2) under
// Node, and print one line per file: name, outcome, seconds. Compare with CPython's outcomes:
//
//   python tests/corpus/generate.py --out /tmp/corpus && make build
//   node tools/corpus_in_pyodide.mjs /tmp/corpus > /tmp/pyodide.txt
//
// Run from the repository root (it reads node_modules/pyodide and build/site).
import { loadPyodide } from '../node_modules/pyodide/pyodide.mjs';
import fs from 'fs';
import path from 'path';

const corpus = process.argv[2];
if (!corpus) throw new Error('usage: node tools/corpus_in_pyodide.mjs CORPUS_DIR');
const py = await loadPyodide({ indexURL: path.resolve('node_modules/pyodide') + '/' });
const info = JSON.parse(fs.readFileSync('build/site/build-info.json', 'utf8'));
const lock = JSON.parse(fs.readFileSync('build/site/vendor/pyodide/pyodide-lock.json', 'utf8')).packages;
const wheels = ['numpy', 'pillow'].map((p) => `vendor/pyodide/${lock[p].file_name}`).concat([info.wheel]);
for (const w of wheels) {
  const name = path.basename(w);
  py.FS.writeFile(`/tmp/${name}`, fs.readFileSync(path.join('build/site', w)));
  py.runPython(`import zipfile, site; zipfile.ZipFile('/tmp/${name}').extractall(site.getsitepackages()[0])`);
}
py.FS.mkdir('/corpus');
for (const f of fs.readdirSync(corpus)) py.FS.writeFile(`/corpus/${f}`, fs.readFileSync(path.join(corpus, f)));
console.log(py.runPython(`
import os, time, PIL
from alphacut.io.decode import decode, DecodeError
out = ["Pillow " + PIL.__version__]
for f in sorted(os.listdir('/corpus')):
    t = time.perf_counter()
    try:
        d = decode(open('/corpus/' + f, 'rb').read())
        r = f"decoded {d.rgb.shape} {d.format} {d.mode} frames={d.frames}"
    except DecodeError as e:
        r = "DecodeError: " + str(e)
    out.append(f"{f}\\t{r}\\t{time.perf_counter() - t:.2f}s")
"\\n".join(out)
`));

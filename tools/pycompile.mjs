// Replace the sources in wheels and in Pyodide's standard library by their bytecode
// (tools/pycompile.py), in Pyodide itself under Node, so that the bytecode is CPython 3.12's, as
// the page runs it. Usage: node tools/pycompile.mjs (wheel|zip):ARCHIVE ...   Each archive is
// rewritten in place; `wheel` archives are unpacked into site-packages at run time, `zip` ones
// (the standard library) are imported from.
import { loadPyodide } from '../node_modules/pyodide/pyodide.mjs';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const py = await loadPyodide({ indexURL: path.join(here, '..', 'node_modules', 'pyodide') + '/', env: { PYTHONHASHSEED: '0' } });
py.FS.writeFile('/tmp/pycompile.py', fs.readFileSync(path.join(here, 'pycompile.py')));
py.runPython("import sys; sys.path.insert(0, '/tmp'); import pycompile");
const prefixes = py.runPython("import sys, sysconfig; [sysconfig.get_paths()['purelib'], next(p for p in sys.path if p.endswith('.zip'))]").toJs();
for (const arg of process.argv.slice(2)) {
  const [layout, file] = [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)];
  if (!['wheel', 'zip'].includes(layout)) throw new Error(`unknown layout in ${arg}`);
  py.FS.writeFile('/tmp/in.zip', fs.readFileSync(file));
  const prefix = layout === 'wheel' ? prefixes[0] : prefixes[1];
  const n = py.runPython(`pycompile.add_pycs('/tmp/in.zip', '/tmp/out.zip', ${JSON.stringify(prefix)})`);
  fs.unlinkSync(file); // never write through a hard link to the original
  fs.writeFileSync(file, py.FS.readFile('/tmp/out.zip'));
  console.log(`${path.basename(file)}: ${n} modules compiled`);
}

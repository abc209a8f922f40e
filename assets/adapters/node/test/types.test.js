'use strict';
// index.d.ts checked by the TypeScript compiler (the `typescript` devDependency) on a usage file
// that imports the package by its name, as an app does.

const { test } = require('node:test');
const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

test('index.d.ts: tsc --noEmit --strict on test/types/usage.ts', () => {
  const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) assert.fail('typescript is not installed: run npm install (it is a devDependency)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wscope-node-types-'));
  try {
    // `paths` maps the package name to this folder: the declarations are found via package.json.
    const config = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'commonjs',
        target: 'es2022',
        esModuleInterop: true,
        types: ['node'],
        typeRoots: [path.join(__dirname, '..', 'node_modules', '@types')],
        baseUrl: path.join(__dirname, '..'),
        paths: { 'wscope-node': ['.'], ws: ['node_modules/@types/ws'], '*': ['node_modules/*'] },
      },
      files: [path.join(__dirname, 'types', 'usage.ts')],
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Layering: imports point down (cli -> daemon -> engine -> areas -> guest -> oci -> util), and no cycles of files or folders.
// wire (the API's data shapes) is a leaf any layer and the browser's dashboard may import: it imports nothing, Node least of all.
const AREAS = 'network|storage|resources|runtime|security';
module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'modules form no cycle', from: {}, to: { circular: true } },
    { name: 'no-folder-cycle', severity: 'error', comment: 'folders form no cycle', scope: 'folder', from: {}, to: { circular: true } },
    { name: 'util-is-a-leaf', severity: 'error', from: { path: '^src/util/' }, to: { path: '^src/(?!util/)' } },
    { name: 'wire-is-a-leaf', severity: 'error', from: { path: '^src/wire/' }, to: { path: '^src/(?!wire/)' } },
    { name: 'wire-has-no-node', severity: 'error', from: { path: '^src/wire/' }, to: { dependencyTypes: ['core', 'npm', 'npm-dev'] } },
    { name: 'dashboard-sees-only-wire', severity: 'error', comment: 'browser code: the rest of src/ pulls in Node',
      from: { path: '^src/dashboard/' }, to: { path: '^src/(?!(dashboard|wire)/)' } },
    { name: 'oci-below-guest', severity: 'error', from: { path: '^src/oci/' }, to: { path: '^src/(?!(oci|util)/)' } },
    { name: 'guest-below-areas', severity: 'error', from: { path: '^src/guest/' }, to: { path: `^src/(${AREAS}|engine|daemon|cli)/` } },
    { name: 'areas-below-engine', severity: 'error', from: { path: `^src/(${AREAS})/` }, to: { path: '^src/(engine|daemon|cli)/' } },
    { name: 'engine-below-daemon', severity: 'error', from: { path: '^src/engine/' }, to: { path: '^src/(daemon|cli)/' } },
    { name: 'daemon-below-cli', severity: 'error', from: { path: '^src/daemon/' }, to: { path: '^src/cli/' } },
    { name: 'areas-not-sideways', severity: 'error', comment: 'an area uses another area only through the engine',
      from: { path: `^src/(${AREAS})/` }, to: { path: `^src/(${AREAS})/`, pathNot: '^src/$1/' } },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
  },
};

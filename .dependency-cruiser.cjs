// Layering: imports point down (cli -> daemon -> engine -> areas -> guest -> oci -> util), and no cycles of files or folders.
// wire (the API's data shapes) is a leaf any layer and the browser's dashboard may import: it imports nothing, Node least of all;
// view (text of wire data) imports only wire and util/units.ts, and is shared by the CLI and the dashboard.
const AREAS = 'network|storage|resources|runtime|security';
module.exports = {
  forbidden: [
    { name: 'no-cycle', severity: 'error', comment: 'modules form no cycle', from: {}, to: { circular: true } },
    { name: 'no-folder-cycle', severity: 'error', comment: 'folders form no cycle', scope: 'folder', from: {}, to: { circular: true } },
    { name: 'util-is-a-leaf', severity: 'error', from: { path: '^src/util/' }, to: { path: '^src/(?!util/)' } },
    { name: 'wire-is-a-leaf', severity: 'error', from: { path: '^src/wire/' }, to: { path: '^src/(?!wire/)' } },
    { name: 'wire-has-no-package', severity: 'error', from: { path: '^src/wire/' }, to: { dependencyTypes: ['npm', 'npm-dev'] } },
    { name: 'view-is-pure', severity: 'error', comment: 'text views of wire types, shared by the CLI and the browser',
      from: { path: '^src/view/' }, to: { path: '^src/(?!(view|wire)/|util/units\\.ts$)' } },
    { name: 'no-node-in-browser-code', severity: 'error', from: { path: '^src/(wire|view|dashboard)/|^src/util/units\\.ts$' },
      to: { dependencyTypes: ['core'] } },
    { name: 'dashboard-sees-only-wire-and-view', severity: 'error', comment: 'browser code: the rest of src/ pulls in Node',
      from: { path: '^src/dashboard/' }, to: { path: '^src/(?!(dashboard|wire|view)/)' } },
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

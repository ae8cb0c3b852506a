// Runs before every test file: the tests' own fixture files get the same modes whatever umask the
// shell that ran npm test has (vserver itself sets its umask; lifecycle.test.ts checks that).
process.umask(0o022);

// The version, put in by the bundler; 'dev' when running from source.
declare const VSERVER_VERSION: string | undefined;
export const VERSION: string = typeof VSERVER_VERSION === 'string' ? VSERVER_VERSION : 'dev';

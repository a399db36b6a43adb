// A kernel .config (Kconfig output): which options are on, and the module version magic they imply.

/** CONFIG_FOO=value lines -> Map("FOO" -> value). "# CONFIG_FOO is not set" lines are simply absent. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('CONFIG_')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    let value = line.slice(eq + 1);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    out.set(line.slice('CONFIG_'.length, eq), value);
  }
  return out;
}

/** Options built in or as modules (=y / =m), as KernelEntry.options lists them: "DEBUG_KERNEL", "SMP". */
export function enabledOptions(config: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of config) if (v === 'y' || v === 'm') out.push(k);
  return out.sort();
}

// arch/x86/include/asm/vermagic.h: 32-bit x86 appends the processor family, first match wins.
const X86_32_FAMILY: Array<[string, string]> = [
  ['M486SX', '486SX'], ['M486', '486'], ['M586', '586'], ['M586TSC', '586TSC'], ['M586MMX', '586MMX'],
  ['MCORE2', 'CORE2'], ['MATOM', 'ATOM'], ['M686', '686'], ['MPENTIUMII', 'PENTIUMII'],
  ['MPENTIUMIII', 'PENTIUMIII'], ['MPENTIUMM', 'PENTIUMM'], ['MPENTIUM4', 'PENTIUM4'], ['MK6', 'K6'],
  ['MK7', 'K7'], ['MK8', 'K8'], ['MELAN', 'ELAN'], ['MCRUSOE', 'CRUSOE'], ['MEFFICEON', 'EFFICEON'],
  ['MWINCHIPC6', 'WINCHIPC6'], ['MWINCHIP3D', 'WINCHIP3D'], ['MCYRIXIII', 'CYRIXIII'],
  ['MVIAC3_2', 'VIAC3-2'], ['MVIAC7', 'VIAC7'], ['MGEODEGX1', 'GEODEGX1'], ['MGEODE_LX', 'GEODE'],
];

export interface VermagicInputs {
  release: string; // UTS_RELEASE
  /** Reads include/generated/<file> of the kernel's build tree, if there is one. */
  generated?: (file: string) => string | undefined;
}

function hashedSeed(inputs: VermagicInputs, file: string): string | undefined {
  return inputs.generated?.(file)?.match(/#define\s+RANDSTRUCT_HASHED_SEED\s+"([^"]*)"/)?.[1];
}

/**
 * VERMAGIC_STRING as include/linux/vermagic.h builds it (3.x .. 6.x):
 *   UTS_RELEASE " " [SMP ][preempt |preempt_rt ][mod_unload ][modversions ]<arch>[RANDSTRUCT_<seed>]
 * Returns undefined where we can't be sure (2.6 kernels appended the gcc version, which .config
 * doesn't record; other architectures have their own tags): no vermagic means no vermagic check,
 * which is better than a false mismatch.
 */
export function deriveVermagic(config: Map<string, string>, inputs: VermagicInputs): string | undefined {
  const on = (k: string): boolean => config.get(k) === 'y';
  const major = Number.parseInt(inputs.release, 10);
  if (!inputs.release || !(major >= 3)) return undefined;
  let arch: string;
  if (on('X86_64')) arch = '';
  else if (on('X86_32')) {
    const family = X86_32_FAMILY.find(([opt]) => on(opt));
    if (!family) return undefined;
    arch = `${family[1]} ` + (on('4KSTACKS') ? '4KSTACKS ' : '');
  } else return undefined;
  // Structure randomisation adds the seed's hash, which only the build tree knows:
  // CONFIG_RANDSTRUCT (5.19+) "RANDSTRUCT_<h>", CONFIG_GCC_PLUGIN_RANDSTRUCT (4.13-5.18) "RANDSTRUCT_PLUGIN_<h>".
  let randstruct = '';
  if (on('RANDSTRUCT') || on('GCC_PLUGIN_RANDSTRUCT')) {
    const plugin = !on('RANDSTRUCT');
    const seed = hashedSeed(inputs, plugin ? 'randomize_layout_hash.h' : 'randstruct_hash.h');
    if (seed === undefined) return undefined;
    randstruct = `${plugin ? 'RANDSTRUCT_PLUGIN_' : 'RANDSTRUCT_'}${seed}`;
  }
  // PREEMPT_BUILD arrived in 5.16; before it the same tag came from CONFIG_PREEMPT.
  const preempt = on('PREEMPT_BUILD') || on('PREEMPT') ? 'preempt ' : on('PREEMPT_RT') ? 'preempt_rt ' : '';
  return (
    `${inputs.release} ` +
    (on('SMP') ? 'SMP ' : '') +
    preempt +
    (on('MODULE_UNLOAD') ? 'mod_unload ' : '') +
    (on('MODVERSIONS') ? 'modversions ' : '') +
    arch +
    randstruct
  );
}

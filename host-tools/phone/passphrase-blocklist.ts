/**
 * Words and phrases the passphrase generator never produces (Ring's E2EE whitepaper, appendix A: "the
 * passphrase generator avoids offensive words and phrases"). docs/PROTOCOL.md §3 gives the resulting entropy.
 *
 * Source: the EFF large wordlist (7,776 words, CC BY 3.0 US) already leaves out vulgar words. This list was
 * curated for sealcam by reading the EFF list against the themes below (each word was found by searching the
 * list for those themes' stems, then kept only if a reasonable person could be hurt or embarrassed to be handed
 * it as a password they must write down, read aloud or type in front of others). It is deliberately small:
 * it removes words, never weakens the count below the 128-bit floor (test/sharing/passphrase.test.ts).
 * Every entry must be a word of the EFF list (tested), so typos here cannot silently do nothing.
 *
 * Themes: violence, killing and death; sexual words; insults and words about bodies; hatred, extremism and
 * words naming a religion or its followers (random neighbours can turn them into slurs); drugs.
 *
 * Passphrases made before this list existed stay valid: the reader accepts every EFF word (kdf.ts).
 */
export const BLOCKED_WORDS: readonly string[] = [
  // violence, killing, death
  "arson", "backstab", "bullwhip", "casket", "casualty", "chokehold", "choking", "detonate", "detonator", "enslave",
  "entomb", "gangrene", "gory", "graveyard", "handgun", "maimed", "mortuary", "mutilated", "mutilator", "onslaught", "overkill",
  "poison", "predator", "savage", "strangle", "undead",
  // sexual
  "arousal", "flirt", "fondling", "groin", "grope", "humped", "lustfully", "lustily", "lustiness", "lusty", "moisten",
  "moistness", "ogle", "seduce", "seducing", "sensually", "thong", "undress",
  // insults, bodies
  "chubby", "chump", "deviant", "dwarf", "egomaniac", "filth", "imbecile", "maggot", "parasite", "scrawny", "sinner",
  "spinster", "stench", "stinking", "stinky", "wimp",
  // hatred, extremism, religion
  "curse", "dictator", "fascism", "hate", "hatred", "islamic", "islamist", "occultist", "profane", "profanity",
  "pureblood", "racism", "skinhead", "swear",
  // drugs
  "junkie", "opium",
];

/**
 * Two adjacent words that are harmless alone but offensive together: the generator never puts the second right
 * after the first (it draws that position again). Both words are EFF words not in BLOCKED_WORDS.
 */
export const BLOCKED_PHRASES: readonly (readonly [string, string])[] = [
  ["gas", "chamber"],
  ["gas", "oven"],
  ["happy", "ending"],
  ["sugar", "mama"],
  ["trophy", "wife"],
];

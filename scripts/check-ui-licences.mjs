// The UI's npm packages against the licence allow list of deny.toml (the
// one list for Rust and npm). npm's lockfile records each package's SPDX
// expression; an expression passes when some choice of its OR branches has
// every AND part allowed. A package with none, or with any other licence,
// fails with its name and what to do.
//   node scripts/check-ui-licences.mjs [package-lock.json]
import { readFileSync } from "node:fs";

const root = new URL("..", import.meta.url);
const deny = readFileSync(new URL("deny.toml", root), "utf8");
const block = deny.match(/^allow\s*=\s*\[([\s\S]*?)^\]/m);
if (!block) {
  console.error("error: deny.toml has no [licenses] allow list");
  process.exit(1);
}
const allowed = new Set(
  block[1]
    .split("\n")
    .map((l) => l.replace(/#.*/, ""))
    .flatMap((l) => [...l.matchAll(/"([^"]+)"/g)].map((m) => m[1])),
);

// expr := term (OR term)* ; term := atom (AND atom)* ; atom := id [WITH id] | ( expr )
function passes(expression) {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const atom = () => {
    if (tokens[i] === "(") {
      i++;
      const ok = expr();
      if (tokens[i++] !== ")") throw new Error("unbalanced parentheses");
      return ok;
    }
    let id = tokens[i++];
    if (id === undefined) throw new Error("ends early");
    if (tokens[i] === "WITH") {
      id = `${id} WITH ${tokens[i + 1]}`;
      i += 2;
    }
    return allowed.has(id);
  };
  const term = () => {
    let ok = atom();
    while (tokens[i] === "AND") {
      i++;
      ok = atom() && ok;
    }
    return ok;
  };
  const expr = () => {
    let ok = term();
    while (tokens[i] === "OR") {
      i++;
      ok = term() || ok;
    }
    return ok;
  };
  const ok = expr();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}"`);
  return ok;
}

// A lockfile to check may be named (the hygiene script plants a bad one).
const lockPath = process.argv[2] ?? new URL("src-ui/package-lock.json", root);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
let bad = 0;
let count = 0;
for (const [path, pkg] of Object.entries(lock.packages ?? {})) {
  if (path === "") continue; // the UI itself
  count++;
  const name = path.replace(/^.*node_modules\//, "");
  const licence = pkg.license;
  let ok = false;
  let why = "";
  try {
    ok = typeof licence === "string" && passes(licence);
  } catch (e) {
    why = ` (cannot read the expression: ${e.message})`;
  }
  if (!ok) {
    bad++;
    console.error(
      `error: npm package ${name}@${pkg.version} is licensed ${JSON.stringify(licence ?? "(none)")}${why}, not on deny.toml's allow list: replace it, or add the licence there after deciding it is fit to ship`,
    );
  }
}
if (bad > 0) process.exit(1);
console.log(`UI licences: ok (${count} npm packages)`);

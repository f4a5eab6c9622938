// Builds dist/ from src/: the completion data read from runtime/types/actions.d.ts with the
// TypeScript compiler and the tenant log's known type codes read from logs/src/codes.rs, then one
// bundled script and one stylesheet named by their content's hash, and index.html pointing at them. Deterministic: the same sources give the same bytes (CI checks
// that the committed dist/ is what its sources build).
import { build } from "esbuild";
import ts from "typescript";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dts = join(here, "..", "runtime", "types", "actions.d.ts");
const codesRs = join(here, "..", "logs", "src", "codes.rs");

/** { handler: { event: Tree, api: Tree } }, Tree = { name: { type, doc, method, children? } } */
function completions() {
  const program = ts.createProgram([dts], { noLib: false, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(dts);
  const tree = (type, depth) => {
    const out = {};
    if (depth > 3) return out;
    for (const symbol of checker.getPropertiesOfType(checker.getNonNullableType(type))) {
      const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
      if (!decl) continue;
      const t = checker.getTypeOfSymbolAtLocation(symbol, decl);
      const method = t.getCallSignatures().length > 0;
      const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
      const entry = { type: checker.typeToString(t, undefined, ts.TypeFormatFlags.NoTruncation), doc, method };
      const objectLike = !method && (checker.getNonNullableType(t).flags & ts.TypeFlags.Object) !== 0;
      if (objectLike) {
        const children = tree(t, depth + 1);
        if (Object.keys(children).length) entry.children = children;
      }
      out[symbol.name] = entry;
    }
    return out;
  };
  const result = {};
  ts.forEachChild(source, (node) => {
    if (!ts.isFunctionDeclaration(node) || !node.name) return;
    const signature = checker.getSignatureFromDeclaration(node);
    const [event, api] = signature.getParameters().map((p) => checker.getTypeOfSymbolAtLocation(p, node));
    result[node.name.text] = { event: tree(event, 0), api: tree(api, 0) };
  });
  if (!Object.keys(result).length) throw new Error(`no handlers declared in ${dts}`);
  return result;
}

/** [{ code, level, description }] from the `c("code", level, "description")` rows of codes.rs. */
function logCodes() {
  const text = readFileSync(codesRs, "utf8");
  const rows = [...text.matchAll(/\bc\(\s*"([^"]+)",\s*(\d),\s*"((?:[^"\\]|\\.)*)",?\s*\)/g)]
    .map(([, code, level, description]) => ({ code, level: Number(level), description: JSON.parse(`"${description}"`) }));
  if (rows.length < 10) throw new Error(`only ${rows.length} log codes found in ${codesRs}`);
  return rows;
}

const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });
mkdirSync(join(here, "src", "generated"), { recursive: true });
writeFileSync(
  join(here, "src", "generated", "types.json"),
  JSON.stringify(completions(), null, 1) + "\n",
);
writeFileSync(join(here, "src", "generated", "log-codes.json"), JSON.stringify(logCodes(), null, 1) + "\n");

const result = await build({
  entryPoints: [join(here, "src", "main.ts"), join(here, "src", "style.css")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  outdir: join(dist, "assets"),
  entryNames: "[name]-[hash]",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => p.split("/").pop());
const script = outputs.find((f) => f.startsWith("main-") && f.endsWith(".js"));
const style = outputs.find((f) => f.startsWith("style-") && f.endsWith(".css"));
for (const file of readdirSync(join(here, "public"))) copyFileSync(join(here, "public", file), join(dist, "assets", file));
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%SCRIPT%", `/assets/${script}`)
  .replace("%STYLE%", `/assets/${style}`);
writeFileSync(join(dist, "index.html"), html);
const digest = createHash("sha256").update(html).digest("hex").slice(0, 12);
console.log(`dist/: ${script}, ${style}, index.html ${digest}`);

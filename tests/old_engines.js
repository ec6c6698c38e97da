// Reads [{name, source, module, floor}] as JSON on stdin and prints [{name, problem}] for every
// script that an old WeChat kernel could not run: syntax past ES2017 (Chromium 57 and later), or a
// built-in from the NEWER list below that is newer than the script's `floor`, the oldest Chromium
// it must work on.
// Run by tests/test_old_engines.py with Debian's acorn (package node-acorn).
"use strict";
const acorn = require("acorn");
const walk = require("acorn-walk");

// Built-ins and DOM calls newer than the kernels members still have, with the Chromium version
// that brought them.  A script that needs one checks for it first (`if (!window.fetch) return;`);
// these are named here because none of our scripts has a fallback for them.
const NEWER = {
  replaceChildren: 86, replaceAll: 85, at: 92, structuredClone: 98, AbortController: 66,
  AbortSignal: 66, allSettled: 76, matchAll: 73, fromEntries: 73, flat: 69, flatMap: 69,
  toggleAttribute: 69, queueMicrotask: 71, globalThis: 71, trimEnd: 66, trimStart: 66,
  finally: 63,
};
// Of those, the ones that are globals rather than methods.
const GLOBALS = new Set(["structuredClone", "AbortController", "AbortSignal", "queueMicrotask", "globalThis"]);

function problems(script) {
  let source = script.source;
  // A module runs only where modules do (Chromium 61+), and Kite's search module loads Pagefind
  // with import(), which Chromium 63 has; every other ES2018+ form is as wrong there as elsewhere.
  if (script.module) source = source.replace(/\bimport\(/g, "_import_(");
  let tree;
  try {
    tree = acorn.parse(source, { ecmaVersion: 2017, sourceType: script.module ? "module" : "script" });
  } catch (error) {
    return [`syntax newer than ES2017: ${error.message}`];
  }
  const found = [];
  const note = (name, node) => {
    if (Object.prototype.hasOwnProperty.call(NEWER, name) && NEWER[name] > script.floor) {
      const line = source.slice(0, node.start).split("\n").length;
      found.push(`line ${line}: ${name} (Chromium ${NEWER[name]}+)`);
    }
  };
  // The service worker's clients.matchAll() is the Clients API (as old as service workers), not
  // String.prototype.matchAll.
  const clientsApi = (node) => node.property.name === "matchAll" &&
    ((node.object.type === "Identifier" && node.object.name === "clients") ||
     (node.object.type === "MemberExpression" && !node.object.computed && node.object.property.name === "clients"));
  walk.full(tree, (node) => {
    if (node.type === "MemberExpression" && !node.computed && !clientsApi(node)) note(node.property.name, node.property);
    else if (node.type === "Identifier" && GLOBALS.has(node.name)) note(node.name, node);
  });
  return [...new Set(found)];
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const out = [];
  for (const script of JSON.parse(input)) for (const problem of problems(script)) out.push({ name: script.name, problem });
  process.stdout.write(JSON.stringify(out));
});

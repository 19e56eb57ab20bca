import Foundation
import Tagger

/// The page at `/`: a text box that calls `POST /v1/entities` and shows the text with its entities marked, and a
/// legend of the model's entity types. Self-contained (no external assets); the text is only ever set as DOM text,
/// never parsed as HTML, so markup in it shows as typed. Entity types take the colours `predict --format html` gives
/// them (`EntityHTML.colour(of:)`), so a type looks the same on the page and in a saved HTML file.
enum TaggerPage {
    /// The page for a model whose entity types are `types`.
    static func html(types: [String]) -> String {
        var colours: [String: String] = [:]
        for type in types { colours[type] = EntityHTML.colour(of: type) }
        let data = (try? JSONSerialization.data(withJSONObject: colours, options: [.sortedKeys])) ?? Data("{}".utf8)
        // Inside a <script>, `<` is written as an escape so that no label can close the element.
        let literal = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        return template.replacingOccurrences(of: "/*ENTITY_COLOURS*/{}", with: literal)
    }

    static let template = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bert-tagger</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 56rem; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
  #model { color: #666; font-size: 0.9rem; margin-top: 0; }
  textarea { width: 100%; box-sizing: border-box; min-height: 8rem; font: inherit; padding: 0.5rem; }
  button { font: inherit; padding: 0.3rem 1.2rem; margin-top: 0.4rem; }
  #status { margin-left: 0.8rem; color: #666; }
  #status.error { color: #b00020; }
  .entities { line-height: 2.4; white-space: pre-wrap; margin-top: 1rem; padding: 0.8rem; border: 1px solid #ddd; border-radius: 4px; min-height: 2rem; }
  mark.entity { padding: 0.15em 0.35em; margin: 0 0.1em; border-radius: 0.3em; line-height: 1; background: var(--entity-color, #ddd); }
  mark.entity .entity-type { font-size: 0.65em; font-weight: bold; text-transform: uppercase; margin-left: 0.4em; vertical-align: middle; }
  .legend { margin-top: 0.8rem; }
  .legend mark.entity { display: inline-block; margin: 0.2em; }
</style>
</head>
<body>
<h1>bert-tagger</h1>
<p id="model">loading the model's description…</p>
<form id="form">
  <textarea id="text" name="text" placeholder="Type or paste text, then press Tag (Ctrl+Enter)">George Washington went to Washington to meet the United Nations.</textarea>
  <div><button id="submit" type="submit">Tag</button><span id="status" role="status"></span></div>
</form>
<div id="result" class="entities" aria-live="polite"></div>
<div id="legend" class="legend"></div>
<script>
"use strict";
const entityColours = /*ENTITY_COLOURS*/{};
const palette = ["#7aecec", "#feca74", "#aa9cfc", "#bfeeb7", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80", "#e4e7d2", "#ff8197", "#f0d0ff", "#d9fe74"];
const colors = new Map();
function colorOf(type) {
  if (Object.prototype.hasOwnProperty.call(entityColours, type)) return entityColours[type];
  if (!colors.has(type)) colors.set(type, palette[colors.size % palette.length]);
  return colors.get(type);
}
function mark(type, text) {
  const m = document.createElement("mark");
  m.className = "entity";
  m.dataset.type = type;
  m.style.setProperty("--entity-color", colorOf(type));
  m.appendChild(document.createTextNode(text));
  const label = document.createElement("span");
  label.className = "entity-type";
  label.textContent = type;
  m.appendChild(label);
  return m;
}
function showLegend(types) {
  const legend = document.getElementById("legend");
  legend.replaceChildren(...types.map(t => mark(t, "")));
}
// Offsets count Unicode scalars; Array.from splits a JS string into code points, which are the same units.
function render(text, entities) {
  const chars = Array.from(text);
  const out = document.getElementById("result");
  const nodes = [];
  let at = 0;
  for (const e of entities) {
    if (e.start < at) continue;
    nodes.push(document.createTextNode(chars.slice(at, e.start).join("")));
    const m = mark(e.type, chars.slice(e.start, e.end).join(""));
    m.title = e.type + " " + (e.score * 100).toFixed(1) + "%";
    nodes.push(m);
    at = e.end;
  }
  nodes.push(document.createTextNode(chars.slice(at).join("")));
  out.replaceChildren(...nodes);
}
function setStatus(message, isError) {
  const s = document.getElementById("status");
  s.textContent = message;
  s.className = isError ? "error" : "";
}
async function tag() {
  const text = document.getElementById("text").value;
  setStatus("tagging…", false);
  try {
    const response = await fetch("v1/entities", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text })
    });
    const body = await response.json();
    if (!response.ok) { setStatus(body.error || response.statusText, true); return; }
    render(text, body.entities);
    const n = body.entities.length;
    setStatus(n + (n === 1 ? " entity" : " entities"), false);
    document.body.dataset.tagged = String(n);
  } catch (error) {
    setStatus("request failed: " + error, true);
  }
}
async function describe() {
  try {
    const model = await (await fetch("v1/model")).json();
    const types = [...new Set(model.labels.filter(l => l !== "O").map(l => l.replace(/^[BIESLU]-/, "")))];
    showLegend(types);
    document.getElementById("model").textContent = model.labels.length + " labels" +
      (model.scheme ? ", " + model.scheme : "") + ", " + model.decoding + " decoding, " + model.encoder.layers +
      " layers, windows of " + model.maxLength + " tokens";
  } catch (error) {
    setStatus("could not read /v1/model: " + error, true);
  }
}
document.getElementById("form").addEventListener("submit", event => { event.preventDefault(); tag(); });
document.getElementById("text").addEventListener("keydown", event => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); tag(); }
});
describe();
// `/?text=...` fills the box and submits it, for links that show a given text.
const query = new URLSearchParams(location.search);
if (query.has("text")) {
  document.getElementById("text").value = query.get("text");
  document.getElementById("submit").click();
}
</script>
</body>
</html>
"""#
}

/* The S3-Rec book: search-result snippets without raw TeX (loaded on the search page only, by
   book/_ext/s3rec_site.py).

   Sphinx's search (searchtools.js, used as is by the pydata/book theme) fetches each matching page and shows
   240 characters of the text of its main block. Math sits in that HTML as TeX source for MathJax
   (<span class="math">\(\log(K + 1)\)</span>), so the snippets showed "\(\log(K + 1)\)". Typesetting the snippet
   would break on a formula cut at the snippet's edge; instead each formula is written as plain text before the
   snippet is cut: delimiters dropped, common commands as their symbols ("log(K + 1)", "λ_AAP", "I(X; Y) ≤ ...").
   tests/test_site.py searches the built site and checks that no snippet holds TeX. */
(function () {
  "use strict";
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ", eta: "η",
    theta: "θ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ",
    phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω", Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ",
    Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω", sum: "Σ", prod: "Π", int: "∫", infty: "∞", le: "≤", leq: "≤",
    ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", sim: "~", cdot: "·", cdots: "⋯", ldots: "…", dots: "…",
    times: "×", to: "→", rightarrow: "→", leftarrow: "←", in: "∈", mid: "|", top: "ᵀ", partial: "∂",
    nabla: "∇", pm: "±", propto: "∝", log: "log", exp: "exp", max: "max", min: "min", arg: "arg",
    softmax: "softmax", sigmoid: "sigmoid", quad: " ", qquad: " ", ",": " ", ";": " ", "!": "", " ": " ",
    "{": "{", "}": "}", "%": "%", "&": "&", "_": "_", "#": "#", "$": "$",
  };

  /* TeX source -> readable text */
  function texToText(tex) {
    var s = String(tex).trim();
    s = s.replace(/^\\\(|\\\)$/g, "").replace(/^\\\[|\\\]$/g, "").replace(/^\$\$?|\$\$?$/g, "");
    s = s.replace(/\\begin\{[^}]*\}|\\end\{[^}]*\}/g, " ").replace(/\\\\/g, "; ").replace(/&/g, " ");
    s = s.replace(/\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])/g, "");
    s = s.replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)");
    s = s.replace(/\\sqrt\s*\{([^{}]*)\}/g, "√($1)");
    s = s.replace(/\\(?:mathrm|mathbf|mathit|mathcal|mathbb|operatorname|text|textrm|textbf|boldsymbol|hat|tilde|bar|vec)\s*\{([^{}]*)\}/g, "$1");
    s = s.replace(/\\([a-zA-Z]+|.)/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(SYMBOLS, name) ? SYMBOLS[name] : name;
    });
    s = s.replace(/[{}]/g, "").replace(/\s+/g, " ").trim();
    return s;
  }

  /* a page's HTML with every formula written as text, for searchtools' htmlToText */
  function plainMath(htmlString) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".math, span.math, div.math").forEach(function (el) {
      el.textContent = " " + texToText(el.textContent) + " ";
    });
    return "<!DOCTYPE html>" + doc.documentElement.outerHTML;
  }

  window.S3RecSearch = { texToText: texToText, plainMath: plainMath };
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  var original = Search.htmlToText;
  Search.htmlToText = function (htmlString, anchor) {
    return original.call(this, plainMath(htmlString), anchor);
  };
})();

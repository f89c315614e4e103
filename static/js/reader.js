// The reader: one PDF page at a time with pdf.js (vendored under static/vendor/pdfjs),
// its text layer over the canvas, and the quoted sentence marked on it.
// Keys: ← → (or PageUp/PageDown) turn pages, + and − zoom, Q scrolls to the quote.
// Touch: the toolbar's buttons; the page fits the screen's width.

const root = document.querySelector("[data-reader]");

const ZOOM_STEP = 1.2;
const ZOOM_MIN = 0.5;
const ZOOM_MAX = 4;
// The quote is marked where most of its words stand together on the page.
const MATCH_SHARE = 0.6;

const WORD = /[\p{L}\p{N}]+/gu;

function fold(word) {
  return word.toLowerCase().replace(/ё/g, "е");
}

function words(text) {
  return (text.match(WORD) || []).map(fold);
}

// Where the quote stands on the page: the window of the page's words, as long as the
// quote, that shares most words with it (line breaks and hyphenation split words,
// so an exact match is not required). Returns [{div, start, end}] character ranges.
function quoteRanges(textDivs, quote) {
  const wanted = words(quote);
  if (!wanted.length) return [];
  const pageWords = [];
  textDivs.forEach((div) => {
    for (const match of div.textContent.matchAll(WORD)) {
      pageWords.push({ word: fold(match[0]), div, start: match.index, end: match.index + match[0].length });
    }
  });
  const size = Math.min(wanted.length, pageWords.length);
  if (!size) return [];
  const need = new Map();
  for (const word of wanted) need.set(word, (need.get(word) || 0) + 1);
  let best = -1;
  let bestScore = 0;
  for (let start = 0; start + size <= pageWords.length; start++) {
    const left = new Map(need);
    let score = 0;
    for (let i = start; i < start + size; i++) {
      const count = left.get(pageWords[i].word);
      if (count) {
        score++;
        left.set(pageWords[i].word, count - 1);
      }
    }
    // A window that starts on the quote's first word is the quote's own start.
    if (pageWords[start].word === wanted[0]) score += 0.5;
    if (score > bestScore) {
      bestScore = score;
      best = start;
    }
  }
  if (best < 0 || bestScore / size < MATCH_SHARE) return [];
  const ranges = new Map();
  for (let i = best; i < best + size; i++) {
    const { div, start, end } = pageWords[i];
    const range = ranges.get(div) || { div, start, end };
    range.start = Math.min(range.start, start);
    range.end = Math.max(range.end, end);
    ranges.set(div, range);
  }
  return [...ranges.values()];
}

// Wraps each range's characters in a mark inside its text div, as pdf.js's own find
// highlights do; returns the marks.
function markRanges(ranges) {
  return ranges.map(({ div, start, end }) => {
    const text = div.textContent;
    const mark = document.createElement("span");
    mark.className = "quote-mark";
    mark.textContent = text.slice(start, end);
    div.replaceChildren(text.slice(0, start), mark, text.slice(end));
    return mark;
  });
}

async function start() {
  const status = root.querySelector("[data-status]");
  const stage = root.querySelector("[data-stage]");
  const box = root.querySelector("[data-box]");
  const canvas = root.querySelector("[data-canvas]");
  const textLayerDiv = root.querySelector("[data-text]");
  const input = root.querySelector("[data-page-input]");
  const quote = root.dataset.quote || "";
  let current = Number(root.dataset.page) || 1;
  const quotePage = current;
  let zoom = 1;
  let task = null;
  let marked = [];

  let pdfjs;
  let pdf;
  try {
    pdfjs = await import(root.dataset.lib);
    pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.worker;
    pdf = await pdfjs.getDocument({
      url: root.dataset.file,
      withCredentials: true,
      isEvalSupported: false,
      standardFontDataUrl: root.dataset.fonts,
    }).promise;
  } catch (error) {
    status.textContent = root.dataset.failed;
    root.dataset.state = "failed";
    return;
  }
  const pages = pdf.numPages;
  input.max = String(pages);

  // Each call draws one page; a newer call (a quick key press) makes older ones stop.
  let drawing = 0;

  async function show(number) {
    const id = ++drawing;
    current = Math.min(Math.max(1, number), pages);
    input.value = String(current);
    if (task) task.cancel();
    const page = await pdf.getPage(current);
    if (id !== drawing) return;
    const natural = page.getViewport({ scale: 1 });
    const fit = Math.max(200, stage.clientWidth) / natural.width;
    const scale = fit * zoom;
    const viewport = page.getViewport({ scale });
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    canvas.style.height = `${Math.floor(viewport.height)}px`;
    box.style.width = `${Math.floor(viewport.width)}px`;
    box.style.height = `${Math.floor(viewport.height)}px`;
    box.style.setProperty("--scale-factor", String(scale));
    task = page.render({
      canvasContext: canvas.getContext("2d"),
      viewport,
      transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
    });
    try {
      await task.promise;
    } catch (error) {
      if (error && error.name === "RenderingCancelledException") return;
      throw error;
    }
    if (id !== drawing) return;
    // Each page's text layer is built off the page and put in place whole.
    const text = document.createElement("div");
    const layer = new pdfjs.TextLayer({
      textContentSource: page.streamTextContent(),
      container: text,
      viewport,
    });
    await layer.render();
    if (id !== drawing) return;
    textLayerDiv.replaceChildren(...text.childNodes);
    marked = current === quotePage && quote ? markRanges(quoteRanges(layer.textDivs, quote)) : [];
    root.dataset.page = String(current);
    root.dataset.state = "ready";
    status.textContent = root.dataset.pageLabel
      ? root.dataset.pageLabel.replace("{page}", current).replace("{pages}", pages)
      : `${current} / ${pages}`;
    if (current === quotePage && quote && !marked.length) status.textContent = root.dataset.notFound;
    if (marked.length) toQuote();
  }

  function toQuote() {
    if (current !== quotePage) {
      show(quotePage);
      return;
    }
    if (marked.length) marked[0].scrollIntoView({ block: "center", behavior: "smooth" });
  }

  root.querySelector("[data-prev]").addEventListener("click", () => show(current - 1));
  root.querySelector("[data-next]").addEventListener("click", () => show(current + 1));
  root.querySelector("[data-zoom-in]").addEventListener("click", () => {
    zoom = Math.min(ZOOM_MAX, zoom * ZOOM_STEP);
    show(current);
  });
  root.querySelector("[data-zoom-out]").addEventListener("click", () => {
    zoom = Math.max(ZOOM_MIN, zoom / ZOOM_STEP);
    show(current);
  });
  const toQuoteButton = root.querySelector("[data-to-quote]");
  if (toQuoteButton) toQuoteButton.addEventListener("click", toQuote);
  input.addEventListener("change", () => show(Number(input.value) || current));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const actions = {
      ArrowLeft: () => show(current - 1),
      PageUp: () => show(current - 1),
      ArrowRight: () => show(current + 1),
      PageDown: () => show(current + 1),
      "+": () => root.querySelector("[data-zoom-in]").click(),
      "=": () => root.querySelector("[data-zoom-in]").click(),
      "-": () => root.querySelector("[data-zoom-out]").click(),
      q: toQuote,
      Q: toQuote,
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });
  let width = stage.clientWidth;
  window.addEventListener("resize", () => {
    if (Math.abs(stage.clientWidth - width) > 40) {
      width = stage.clientWidth;
      show(current);
    }
  });
  await show(current);
}

if (root) start();

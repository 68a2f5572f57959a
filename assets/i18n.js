// The page's language. Gradio picks one from navigator.language at start; yilab then applies
// the reader's own choice (the header's switch, kept in localStorage) or the browser's
// language mapped to one yilab speaks (a browser set to plain "zh" gets 简体中文, which
// Gradio alone would show in English), and writes it to the yilab_lang cookie so that
// what the server writes (status lines, cards, errors) comes in the same language.
(() => {
  const KEY = "yilab-lang";
  const normalize = (tag) => {
    tag = (tag || "").replace("_", "-").toLowerCase();
    if (tag === "zh" || /^zh-(cn|hans|sg)/.test(tag)) return "zh-CN";
    if (tag === "en" || tag.startsWith("en-")) return "en";
    return null;
  };
  const chosen = () => {
    try { return normalize(localStorage.getItem(KEY)); } catch (e) { return null; }
  };
  const browser = () =>
    (navigator.languages || [navigator.language]).map(normalize).find(Boolean) || "en";
  const lang = chosen() || browser();
  document.cookie = `yilab_lang=${lang}; path=/; SameSite=Lax; max-age=31536000`;
  document.documentElement.lang = lang;

  // Gradio's own changeLocale, exported by the module that set up its i18n; the same URL
  // gives the same module instance.
  async function setLocale(value) {
    const url = performance.getEntriesByType("resource").map((r) => r.name)
      .find((name) => /\/assets\/core-[^/]*\.js$/.test(name));
    if (!url) return false;
    const core = await import(url);
    core.changeLocale(value);
    return true;
  }
  window.yilabLanguage = lang;
  window.yilabLocaleReady = setLocale(lang).catch(() => false);

  // The header's switch: remember the choice and reload, so that the server's HTML
  // follows too.
  window.yilabSetLanguage = (value) => {
    try { localStorage.setItem(KEY, value); } catch (e) { /* private mode: cookie only */ }
    document.cookie = `yilab_lang=${value}; path=/; SameSite=Lax; max-age=31536000`;
    location.reload();
  };
})();

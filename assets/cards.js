// Card buttons in the compare grid. Model output never reaches this code: a button
// finds its card and reads the card's data-run (a run id yilab made) itself.
function yilabCard(button) {
  const card = button.closest(".yl-card");
  const act = button.dataset.act;
  if (act === "copy") {
    const text = card.querySelector(".yl-out").innerText;
    navigator.clipboard.writeText(text).then(
      () => {
        const name = button.textContent;  // "copy", in the page's language
        button.textContent = button.dataset.done;  // "copied", likewise
        setTimeout(() => (button.textContent = name), 1200);
      },
      () => { button.textContent = button.dataset.failed; }
    );
    return;
  }
  if (act === "probs") {  // plain output <-> probability view, in the browser only
    button.classList.toggle("yl-on", card.classList.toggle("yl-show-probs"));
    return;
  }
  yilabSend(act + ":" + card.dataset.run + ":" + Date.now());
}

// An alternative in a token's tip: branch the run there with that token. data-pos and
// data-token are integers yilab wrote; Number() keeps anything else out of the action.
function yilabBranch(button) {
  const card = button.closest(".yl-card");
  const pos = Number(button.dataset.pos), token = Number(button.dataset.token);
  yilabSend("branch:" + card.dataset.run + ":" + pos + ":" + token + ":" + Date.now());
}

// A link in a card (the turn-end note's "fix it in the Tokenizer tab"): the server selects
// the tab with the card's model. Returns false so the "#" href goes nowhere.
function yilabCardLink(link) {
  yilabSend("tokenizer:" + link.closest(".yl-card").dataset.run + ":" + Date.now());
  return false;
}

// Shade tokens by probability or by entropy: one class on the page, kept across re-renders.
function yilabShade(button) {
  document.body.classList.toggle("yl-shade-entropy", button.dataset.shade === "entropy");
}

// The hidden bridge to the server: write the action, then click the hidden button.
function yilabSend(value) {
  const box = document.querySelector("#yl-card-action textarea");
  box.value = value;
  box.dispatchEvent(new Event("input", { bubbles: true }));
  setTimeout(() => document.querySelector("#yl-card-go").click(), 60);
}

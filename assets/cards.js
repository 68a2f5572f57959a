// Card buttons in the compare grid. Model output never reaches this code: a button
// finds its card and reads the card's data-run (a run id yilab made) itself.
function yilabCard(button) {
  const card = button.closest(".yl-card");
  const act = button.dataset.act;
  if (act === "copy") {
    const text = card.querySelector(".yl-out").innerText;
    navigator.clipboard.writeText(text).then(
      () => { button.textContent = "copied"; setTimeout(() => (button.textContent = "copy"), 1200); },
      () => { button.textContent = "copy failed"; }
    );
    return;
  }
  const box = document.querySelector("#yl-card-action textarea");
  box.value = act + ":" + card.dataset.run + ":" + Date.now();
  box.dispatchEvent(new Event("input", { bubbles: true }));
  setTimeout(() => document.querySelector("#yl-card-go").click(), 60);
}

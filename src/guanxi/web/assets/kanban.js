// The sales kanban board: SortableJS drags deal cards between stage columns (mouse and touch) and posts
// each drop to the server; a refused move snaps the card back and shows the server's translated reason.
import Sortable from "sortablejs";

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

function showError(board, message) {
  const box = document.getElementById("board-error");
  if (!box) return;
  box.textContent = message;
  box.classList.remove("d-none");
}

function clearError() {
  const box = document.getElementById("board-error");
  if (box) box.classList.add("d-none");
}

function snapBack(evt) {
  const { item, from, oldIndex } = evt;
  const cards = Array.from(from.children).filter((el) => el !== item);
  from.insertBefore(item, cards[oldIndex] || null);
}

function askLostReason() {
  const dialog = document.getElementById("lost-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(null);
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "ok") {
          resolve({
            lost_reason: dialog.querySelector("#lost-reason").value,
            lost_note: dialog.querySelector("#lost-note").value,
          });
        } else {
          resolve(null);
        }
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// The server answers a move without re-counting the columns; the board shifts the card's count and amount.
function shiftFigures(fromStage, toStage, amount) {
  for (const [stage, sign] of [[fromStage, -1], [toStage, 1]]) {
    const count = document.querySelector(`[data-count="${stage}"]`);
    const total = document.querySelector(`[data-total="${stage}"]`);
    if (count) {
      const n = Number(count.dataset.value || count.textContent.replace(/[^0-9]/g, "")) + sign;
      count.dataset.value = String(n);
      count.textContent = n.toLocaleString();
    }
    if (total) {
      const value = Number(total.dataset.value || 0) + sign * amount;
      total.dataset.value = String(value);
      total.textContent = Math.round(value).toLocaleString();
    }
  }
}

async function onEnd(board, evt) {
  const { item, from, to, oldIndex, newIndex } = evt;
  if (from === to && oldIndex === newIndex) return;
  clearError();
  const body = new URLSearchParams();
  body.set("stage", to.dataset.stageId);
  const above = item.previousElementSibling;
  const below = item.nextElementSibling;
  if (above && above.dataset.dealId) body.set("above", above.dataset.dealId);
  if (below && below.dataset.dealId) body.set("below", below.dataset.dealId);
  if (to.dataset.kind === "lost" && from !== to) {
    const answer = await askLostReason();
    if (!answer) {
      snapBack(evt);
      showError(board, board.dataset.cancelled);
      return;
    }
    body.set("lost_reason", answer.lost_reason);
    body.set("lost_note", answer.lost_note);
  }
  const url = board.dataset.moveUrl.replace("/0/", `/${item.dataset.dealId}/`);
  board.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body,
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok || !data.ok) {
      snapBack(evt);
      showError(board, data.error || board.dataset.failed);
      return;
    }
    shiftFigures(from.dataset.stageId, to.dataset.stageId, Number(item.dataset.amount || 0));
    item.dataset.moved = "1";
  } catch {
    snapBack(evt);
    showError(board, board.dataset.failed);
  } finally {
    board.removeAttribute("aria-busy");
  }
}

function start() {
  const board = document.getElementById("board");
  if (!board || board.dataset.canMove !== "1") return;
  for (const list of board.querySelectorAll(".gx-column-list")) {
    Sortable.create(list, {
      group: "deals",
      draggable: ".gx-deal",
      animation: 150,
      // pointer events rather than the browser's native drag: mouse, pen and touch behave the same
      forceFallback: true,
      fallbackOnBody: true,
      // on touch screens a short press picks a card up, so a swipe still scrolls the page
      delay: 200,
      delayOnTouchOnly: true,
      touchStartThreshold: 5,
      ghostClass: "gx-deal-ghost",
      onEnd: (evt) => onEnd(board, evt),
    });
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}

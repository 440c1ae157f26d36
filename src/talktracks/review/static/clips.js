// One shared player for lists of moments (search results, playlists): a button with data-src
// and data-seek plays that recording from that moment; in a playlist (ol[data-autoplay-next])
// the next clip starts when one ends. Loaded as a file (CSP script-src 'self').
"use strict";

(function () {
  const player = document.getElementById("player");
  if (!player) {
    return;
  }
  const label = document.getElementById("now-playing");
  let currentButton = null;

  function play(button) {
    const src = button.dataset.src;
    const seconds = Number.parseFloat(button.dataset.seek || "0");
    const go = function () {
      player.currentTime = Number.isFinite(seconds) ? seconds : 0;
      const playing = player.play();
      if (playing && typeof playing.catch === "function") {
        playing.catch(function () { /* autoplay refused: the position is still set */ });
      }
    };
    if (currentButton) {
      currentButton.removeAttribute("aria-current");
    }
    currentButton = button;
    button.setAttribute("aria-current", "true");
    if (label && button.dataset.label) {
      label.textContent = "Playing " + button.dataset.label;
    }
    if (player.getAttribute("src") !== src) {
      player.setAttribute("src", src);
      player.addEventListener("loadedmetadata", go, { once: true });
      player.load();
    } else if (player.readyState >= 1) {
      go();
    } else {
      player.addEventListener("loadedmetadata", go, { once: true });
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-src]");
    if (button) {
      play(button);
      return;
    }
    const all = event.target.closest("button[data-play-all]");
    if (all) {
      const first = document.querySelector("button[data-src]");
      if (first) {
        play(first);
      }
    }
  });

  player.addEventListener("ended", function () {
    const list = currentButton && currentButton.closest("ol[data-autoplay-next]");
    if (!list) {
      return;
    }
    const buttons = Array.from(list.querySelectorAll("button[data-src]"));
    const next = buttons[buttons.indexOf(currentButton) + 1];
    if (next) {
      play(next);
    }
  });

  player.addEventListener("error", function () {
    if (label) {
      label.textContent = "This recording cannot be played.";
    }
  });
})();

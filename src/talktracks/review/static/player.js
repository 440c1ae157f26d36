// Call page: time stamps seek the player; the utterance being heard is highlighted; the page
// opens cued to its moment (?t= or #u-<id>); actions are sent without a reload (the forms still
// work without this script); keyboard shortcuts move between utterances and flags and judge
// tags. Loaded as a file (CSP script-src 'self'); no inline handlers anywhere.
"use strict";

(function () {
  const player = document.getElementById("player");
  const status = document.getElementById("action-status");
  const utterances = function () {
    return Array.from(document.querySelectorAll(".utt[data-start]"));
  };
  let selected = null;

  function say(message) {
    if (status && message) {
      status.textContent = message;
    }
  }

  function seek(seconds, andPlay) {
    if (!player) {
      return;
    }
    const go = function () {
      player.currentTime = seconds;
      if (andPlay) {
        const playing = player.play();
        if (playing && typeof playing.catch === "function") {
          playing.catch(function () { /* autoplay refused: the position is still set */ });
        }
      }
    };
    if (player.readyState >= 1) {
      go();
    } else {
      player.addEventListener("loadedmetadata", go, { once: true });
      if (player.networkState === HTMLMediaElement.NETWORK_EMPTY) {
        player.load();
      }
    }
  }

  function select(utt, scroll) {
    if (!utt) {
      return;
    }
    if (selected) {
      selected.classList.remove("selected");
    }
    selected = utt;
    utt.classList.add("selected");
    if (scroll) {
      utt.scrollIntoView({ block: "center" });
    }
  }

  // --- time stamps ---------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    const fromPlayer = event.target.closest("button[data-from-player]");
    if (fromPlayer && player) {
      const input = document.getElementById(fromPlayer.dataset.fromPlayer);
      if (input) {
        input.value = player.currentTime.toFixed(1);
      }
      return;
    }
    const button = event.target.closest("button[data-seek]");
    if (!button) {
      return;
    }
    const seconds = Number.parseFloat(button.dataset.seek);
    if (!Number.isFinite(seconds)) {
      return;
    }
    seek(seconds, true);
    const target = button.dataset.target && document.getElementById(button.dataset.target);
    if (target) {
      target.scrollIntoView({ block: "center" });
    }
    select(button.closest(".utt") || target, false);
  });

  // --- cue to the moment the page was opened for ---------------------------------------------
  (function cue() {
    const fromHash = /^#u-\d+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
    const at = player && player.dataset.cue !== undefined ? Number.parseFloat(player.dataset.cue) : NaN;
    if (Number.isFinite(at)) {
      const found = utterances().find(function (u) {
        return Number(u.dataset.start) <= at && at < Number(u.dataset.end);
      });
      select(fromHash || found || null, true);
      seek(at, false);
    } else if (fromHash) {
      select(fromHash, true);
      seek(Number(fromHash.dataset.start), false);
    }
  })();

  // --- the utterance being heard ---------------------------------------------------------------
  if (player) {
    let current = null;
    player.addEventListener("timeupdate", function () {
      const t = player.currentTime;
      const found = utterances().find(function (u) {
        return Number(u.dataset.start) <= t && t < Number(u.dataset.end);
      }) || null;
      if (found !== current) {
        if (current) {
          current.classList.remove("playing");
        }
        if (found) {
          found.classList.add("playing");
        }
        current = found;
      }
    });
    player.addEventListener("error", function () {
      const note = document.getElementById("player-note");
      if (note) {
        note.textContent = "This recording cannot be played.";
      }
    });
  }

  // --- actions without a reload ----------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const kind = form.dataset && form.dataset.async;
    if (!kind || !window.fetch) {
      return;
    }
    event.preventDefault();
    const data = new FormData(form);
    if (event.submitter && event.submitter.name) {
      data.append(event.submitter.name, event.submitter.value);
    }
    const container = form.closest(kind === "flag" ? "article.flag" : "li.utt");
    const token = data.get("csrf_token");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-Fragment": kind, "X-CSRF-Token": token || "" },
      credentials: "same-origin",
      redirect: "manual",
    }).then(function (response) {
      if (!response.ok || !container) {
        say("Not saved (error " + response.status + "). Reload the page and try again.");
        return null;
      }
      const message = decodeURIComponent(response.headers.get("x-message") || "");
      return response.text().then(function (html) {
        const holder = document.createElement("template");
        holder.innerHTML = html.trim();
        const fresh = holder.content.firstElementChild;
        if (fresh) {
          const wasSelected = container === selected;
          container.replaceWith(fresh);
          if (wasSelected) {
            select(fresh, false);
          }
        }
        say(message);
      });
    }).catch(function () {
      say("Not saved: the server could not be reached.");
    });
  });

  // --- keyboard shortcuts ------------------------------------------------------------------------
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function step(list, from, direction) {
    if (!list.length) {
      return null;
    }
    const i = list.indexOf(from);
    if (i < 0) {
      return direction > 0 ? list[0] : list[list.length - 1];
    }
    return list[Math.min(Math.max(i + direction, 0), list.length - 1)];
  }

  function moveUtterance(direction) {
    const next = step(utterances(), selected, direction);
    select(next, true);
    if (next) {
      seek(Number(next.dataset.start), true);
    }
  }

  let flagIndex = -1;
  function moveFlag(direction) {
    const flags = Array.from(document.querySelectorAll("article.flag"));
    if (!flags.length) {
      return;
    }
    flagIndex = Math.min(Math.max(flagIndex + direction, 0), flags.length - 1);
    const flag = flags[flagIndex];
    const seekButton = flag.querySelector("button[data-seek]");
    const target = seekButton && seekButton.dataset.target && document.getElementById(seekButton.dataset.target);
    flag.scrollIntoView({ block: "nearest" });
    if (target) {
      select(target, true);
    }
    if (seekButton) {
      seek(Number.parseFloat(seekButton.dataset.seek), false);
    }
    flag.classList.add("current");
    flags.forEach(function (f) {
      if (f !== flag) {
        f.classList.remove("current");
      }
    });
  }

  function judge(kind) {
    const utt = selected || utterances().find(function (u) { return u.classList.contains("playing"); });
    const button = utt && utt.querySelector('button[data-shortcut="' + kind + '"]');
    if (button) {
      select(utt, false);
      button.form.requestSubmit(button);
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    const key = event.key.toLowerCase();
    if ((key === " " || key === "k") && player) {
      if (event.target.closest("button, a, summary, audio")) {
        if (key === " ") {
          return; // Space on a focused control keeps its own meaning
        }
      }
      event.preventDefault();
      if (player.paused) {
        player.play().catch(function () {});
      } else {
        player.pause();
      }
    } else if (key === "j") {
      moveUtterance(1);
    } else if (key === "u") {
      moveUtterance(-1);
    } else if (key === "n") {
      moveFlag(1);
    } else if (key === "p") {
      moveFlag(-1);
    } else if (key === "c") {
      judge("confirm");
    } else if (key === "x") {
      judge("reject");
    }
  });
})();

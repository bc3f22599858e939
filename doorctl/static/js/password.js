// Password strength hint, shown as a new password is typed (System > Users, Change
// password, first access). A hint only: the manual's rule (1 to 64 printable ASCII
// characters) is what the device enforces, and a weak password is still accepted.
//
// A modest estimate by rules: the most common passwords, the username, repeats and
// sequences are weak whatever their length; otherwise the length and the kinds of
// characters used (the bits a guesser would have to try) say weak, fair or strong.
(function () {
  const COMMON = new Set(
    (
      "123456 123456789 12345678 12345 1234567 1234567890 1234 123123 111111 000000 " +
      "654321 666666 121212 112233 123321 159753 147258369 987654321 password passw0rd " +
      "password1 password123 qwerty qwerty123 qwertyuiop asdfgh asdfghjkl zxcvbnm " +
      "1q2w3e4r 1qaz2wsx qazwsx abc123 abcdef iloveyou letmein welcome monkey dragon " +
      "football baseball soccer master shadow sunshine princess superman batman trustno1 " +
      "starwars freedom whatever hello secret login admin administrator root toor guest " +
      "default changeme access pass test test123 user doorctl door controller opensesame " +
      "michael jordan charlie donald ashley hunter killer pokemon jennifer michelle " +
      "computer internet samsung google cheese flower summer winter autumn spring " +
      "hottie lovely loveme mustang maggie buster ginger pepper cookie chocolate"
    ).split(" ")
  );
  const SEQUENCES = [
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiopasdfghjklzxcvbnm",
  ];
  const KINDS = [
    [/[a-z]/, 26],
    [/[A-Z]/, 26],
    [/[0-9]/, 10],
    [/[^a-zA-Z0-9]/, 33],
  ];

  // The password without the digits and signs people add to a word to pass a rule.
  function core(password) {
    return password.toLowerCase().replace(/[^a-z]+$/, "").replace(/^[^a-z]+/, "");
  }

  function isRun(lower) {
    if (new Set(lower).size === 1) return true;
    return lower.length >= 4 && SEQUENCES.some((s) => s.includes(lower) || reversed(s).includes(lower));
  }

  function reversed(text) {
    return [...text].reverse().join("");
  }

  function bits(password) {
    const pool = KINDS.reduce((sum, [kind, size]) => sum + (kind.test(password) ? size : 0), 0);
    return password.length * Math.log2(pool);
  }

  // The hint's words in the page's language (templates/ui/_password_words.html), with
  // {name} filled in.
  function say(key, values = {}) {
    const words = document.getElementById("password-words");
    const text = (words && words.dataset[key]) || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
  }

  // [level, reason] for a password: level weak, fair or strong.
  function estimate(password, username) {
    const lower = password.toLowerCase();
    if (COMMON.has(lower) || COMMON.has(core(password))) return ["weak", say("common")];
    if (username.length >= 3 && lower.includes(username.toLowerCase())) return ["weak", say("username")];
    if (isRun(lower)) return ["weak", say("run")];
    const n = password.length;
    const length = say(n === 1 ? "character" : "characters", { n });
    if (n < 8) return ["weak", say("short", { length })];
    const kinds = KINDS.filter(([kind]) => kind.test(password)).length;
    const strength = bits(password);
    if (strength < 40) return ["weak", say(kinds === 1 ? "shortOneKind" : "shortKinds")];
    if (strength < 60) return ["fair", say(n < 12 ? "longer" : "mixed", { length })];
    return ["strong", say(kinds === 1 ? "kind" : "kinds", { length, kinds })];
  }

  function usernameOf(input) {
    const typed = input.form && input.form.elements.namedItem("username");
    return input.dataset.strengthUser || (typed ? typed.value : "");
  }

  function showStrength(input) {
    const hint = input.parentElement.querySelector(".strength");
    if (!hint) return;
    hint.hidden = !input.value;
    if (!input.value) return;
    const [level, reason] = estimate(input.value, usernameOf(input));
    hint.dataset.strength = level;
    hint.textContent = say("hint", { level: say(level), reason });
  }

  document.addEventListener("input", (event) => {
    const input = event.target.closest("input[data-strength]");
    if (input) showStrength(input);
  });
})();

const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
for (const name of fs.readdirSync("pages").sort()) {
  const body = fs.readFileSync(`pages/${name}`, "utf8").trim();
  const html = `<!doctype html><title>${name}</title><p>${body}</p>\n`;
  fs.writeFileSync(`dist/${name.replace(/\.txt$/, ".html")}`, html);
}

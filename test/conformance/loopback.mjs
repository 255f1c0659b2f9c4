// Preloaded with --import into the suite's everything-server, which calls `app.listen(PORT)` and so
// would bind every interface: a listen() given a port and no host binds 127.0.0.1 instead.
import { Server } from "node:net";

const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  if ((typeof args[0] === "number" || typeof args[0] === "string") && typeof args[1] !== "string") {
    return listen.call(this, Number(args[0]), "127.0.0.1", ...args.slice(1));
  }
  return listen.apply(this, args);
};

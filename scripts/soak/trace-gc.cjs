// Preloaded into the sessionql process under soak (NODE_OPTIONS=--require, so before any transpiler: plain
// CommonJS). V8's --trace-gc is not allowed in NODE_OPTIONS, so it is switched on here; each full GC then prints
// the heap it kept, which tells a leak (that floor rising) from V8 sizing its heap to the allocation rate (RSS
// rising while the floor stays flat).
require("node:v8").setFlagsFromString("--trace-gc");

import { createStore } from "../../src/stores/index";
import { describeSessionStore } from "./contract";

describeSessionStore("memory", (clock) => createStore("memory://", clock));

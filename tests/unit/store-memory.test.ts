import { memoryStores } from "@/lib/store/memory";
import { storeContract } from "../store/contract";

storeContract("in-memory", async () => ({ stores: memoryStores({ ttlSeconds: 3600 }) }));

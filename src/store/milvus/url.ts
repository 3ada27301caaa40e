// Which store locations are Milvus URLs; kept apart so `openStore` can tell without loading the Milvus SDK.
export const MILVUS_URL = /^milvus(?:\+https?)?:\/\//i;

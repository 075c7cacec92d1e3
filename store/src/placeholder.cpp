// Keeps the library non-empty until the store sources land.
namespace floorgate::store { int placeholder_store = 0; }

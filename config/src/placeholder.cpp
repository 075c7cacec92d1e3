// Keeps the library non-empty until the configuration sources land.
namespace floorgate::config { int placeholder_config = 0; }
